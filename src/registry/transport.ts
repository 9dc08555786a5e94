// One HTTP exchange with a registry endpoint, with everything the distribution protocol needs around
// it: the endpoint's TLS settings (one undici Agent per distinct setting), its extra headers, the
// Authorization header (auth.ts) with one retry after a 401 challenge, retries with backoff on
// dropped connections, 429 and 5xx (retry.ts), and redirects (a blob GET is commonly answered 307 to
// a storage host or CDN) followed *without* Authorization or hosts.toml headers when they lead to
// another origin: those are for the registry, not for whoever it points at (docker and containerd
// do the same; RFC 9110 15.4 leaves it to the client).

import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import type { Agent, Dispatcher } from 'undici';
import { type BerthError, isBerthError } from '../errdefs/index.ts';
import { type Authorizer, repositoryScope } from './auth.ts';
import { discardBody, readBodyPrefix } from './body.ts';
import {
  isAbort,
  isConnectionError,
  maxErrorBodyBytes,
  parseErrorBody,
  type Subject,
  statusError,
  transportError,
} from './errors.ts';
import type { Endpoint } from './hosts.ts';
import {
  backoffDelay,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  waitBeforeRetry,
} from './retry.ts';
import { loadUndici, undiciNow } from './undici-loader.ts';

export type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH';

export interface Exchange {
  method: Method;
  endpoint: Endpoint;
  /** Absolute URL (an upload Location may point anywhere on the endpoint). */
  url: URL;
  /** The registry host namespace (`docker.io`): credentials for the endpoint's own server. */
  host: string;
  repository: string;
  /** Also ask for push access (token scope `pull,push`), and pull access to extra repositories. */
  push?: boolean;
  extraPullRepositories?: string[];
  headers?: Record<string, string>;
  /** A Buffer can be re-sent (retries, 401); a stream cannot: its exchange is attempted once. */
  body?: Uint8Array | Readable;
  followRedirects?: boolean;
  /** Never re-send (a PATCH chunk is not idempotent), even with a Buffer body. */
  once?: boolean;
  subject: Subject;
  signal?: AbortSignal;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** The URL that answered (after redirects). */
  url: URL;
}

export interface TransportOptions {
  retry: RetryPolicy;
  /** No response headers, or no body bytes, for this long aborts the exchange (undici timeouts). */
  stallTimeoutMs: number;
  userAgent: string;
}

/** More than this many redirects in a row is a loop (browsers and Go stop at 10-20). */
const maxRedirects = 10;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);

function pemFiles(paths: string[]): string[] {
  return paths.map((p) => readFileSync(p, 'utf8'));
}

export class Transport {
  readonly #agents = new Map<string, Agent>();
  readonly #auth: Authorizer;
  readonly #opts: TransportOptions;

  constructor(auth: Authorizer, opts: TransportOptions) {
    this.#auth = auth;
    this.#opts = opts;
  }

  /** The Agent for a URL: the endpoint's TLS settings when it is the endpoint, defaults otherwise. */
  dispatcher(url: URL, endpoint?: Endpoint): Dispatcher {
    const own = endpoint !== undefined && new URL(endpoint.base).origin === url.origin;
    const tls = own ? { skip: endpoint.skipVerify, ca: endpoint.ca, client: endpoint.client } : undefined;
    const key = JSON.stringify(tls ?? {});
    let agent = this.#agents.get(key);
    if (agent === undefined) {
      const connect: Record<string, unknown> = {};
      if (tls?.skip) connect.rejectUnauthorized = false;
      // Extra CAs are added to, not substituted for, the system roots (containerd appends too).
      if (tls !== undefined && tls.ca.length > 0) connect.ca = [...pemFiles(tls.ca), ...rootCertificates];
      const pair = tls?.client[0];
      if (pair !== undefined) {
        connect.cert = readFileSync(pair[0], 'utf8');
        connect.key = readFileSync(pair[1] === '' ? pair[0] : pair[1], 'utf8');
      }
      agent = new (undiciNow().Agent)({
        connect,
        headersTimeout: this.#opts.stallTimeoutMs,
        bodyTimeout: this.#opts.stallTimeoutMs,
      });
      this.#agents.set(key, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#agents.values()].map((a) => a.close()));
    this.#agents.clear();
  }

  /**
   * Sends the exchange and returns the final reply, whatever its status, after auth and retries.
   * Throws for transport failures (mapped to berth errors naming the subject) and aborts.
   */
  async send(x: Exchange): Promise<Reply> {
    const replayable = x.once !== true && (x.body === undefined || x.body instanceof Uint8Array);
    const scopes = [
      repositoryScope(x.repository, x.push === true),
      ...(x.extraPullRepositories ?? []).map((r) => repositoryScope(r, false)),
    ];
    const target = {
      endpointHost: x.endpoint.host,
      credentialHost: x.endpoint.mirror ? x.endpoint.host : x.host,
      scopes,
    };
    let authRetried = false;
    for (let attempt = 1; ; attempt++) {
      let reply: Reply;
      try {
        const authorization = await this.#auth.authorization(target, x.signal);
        reply = await this.#once(x, authorization);
      } catch (err) {
        if (isAbort(err) || !isConnectionError(err) || !replayable || attempt >= this.#opts.retry.attempts)
          throw isBerthError(err) ? err : transportError(x.subject, x.endpoint.host, err);
        await waitBeforeRetry(backoffDelay(this.#opts.retry, attempt, undefined), x.subject.object, x.signal);
        continue;
      }
      if (reply.status === 401 && !authRetried && replayable) {
        authRetried = true;
        if (await this.#auth.unauthorized(target, reply.headers['www-authenticate'], x.signal)) {
          await discardBody(reply.body);
          attempt--; // an auth round trip is not a failed attempt
          continue;
        }
      }
      if (isRetryableStatus(reply.status) && replayable && attempt < this.#opts.retry.attempts) {
        const after = parseRetryAfter(reply.headers['retry-after']);
        await discardBody(reply.body);
        await waitBeforeRetry(backoffDelay(this.#opts.retry, attempt, after), x.subject.object, x.signal);
        continue;
      }
      return reply;
    }
  }

  async #once(x: Exchange, authorization: string | undefined): Promise<Reply> {
    const origin = new URL(x.endpoint.base).origin;
    let url = x.url;
    for (let hop = 0; ; hop++) {
      const own = url.origin === origin;
      const headers: Record<string, string | string[]> = { 'user-agent': this.#opts.userAgent };
      if (own) {
        Object.assign(headers, x.endpoint.headers);
        if (authorization !== undefined) headers.authorization = authorization;
      }
      Object.assign(headers, x.headers);
      const { request } = await loadUndici();
      const res = await request(url, {
        method: x.method,
        headers,
        body: x.body,
        signal: x.signal,
        dispatcher: this.dispatcher(url, x.endpoint),
      });
      const location = res.headers.location;
      if (x.followRedirects && redirectStatuses.has(res.statusCode) && typeof location === 'string') {
        await discardBody(res.body);
        if (hop >= maxRedirects)
          return Promise.reject(
            transportError(x.subject, url.host, new Error(`more than ${maxRedirects} redirects`)),
          );
        url = new URL(location, url);
        continue;
      }
      return { status: res.statusCode, headers: res.headers, body: res.body, url };
    }
  }

  /** Reads the error document of a failed reply and returns the berth error for it. */
  async fail(reply: Reply, subject: Subject, endpoint: Endpoint): Promise<BerthError> {
    const text = (await readBodyPrefix(reply.body, maxErrorBodyBytes)).toString('utf8');
    const via = endpoint.mirror || endpoint.host !== subject.host ? endpoint.host : undefined;
    // Not the JSON error list (a proxy's page, say): its first line still says more than the status.
    const plain = text.trim().split('\n')[0]?.slice(0, 200) ?? '';
    const body = parseErrorBody(text) ?? (plain === '' ? undefined : { code: '', message: plain });
    return statusError(subject, reply.status, body, via);
  }
}
