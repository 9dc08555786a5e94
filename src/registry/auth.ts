// The registry authorizer: which `Authorization` header a request to an endpoint carries.
//  - Basic (RFC 7617): the endpoint's credentials, sent once a challenge asked for them.
//  - Bearer (distribution docs/spec/auth/token.md, oauth.md): a token from the challenge's realm,
//    asked for with `service` and `scope` (GET, Basic credentials if any; or POST
//    grant_type=refresh_token with an identity token, as containerd's remotes/docker/auth does),
//    cached per endpoint host + realm + service + scopes until `expires_in` (default 60 s).
// The first request to a host goes out bare; its 401 challenge is remembered for the host so later
// requests authorize up front. Credentials are looked up for one host and sent only to that host's
// endpoint or to the realm its challenge named; redirects elsewhere go bare (see transport.ts).

import type { Dispatcher } from 'undici';
import { InvalidArgumentError, UnauthenticatedError, UnavailableError } from '../errdefs/index.ts';
import { readBodyLimited } from './body.ts';
import type { CredentialProvider, Credentials } from './credentials.ts';
import { maxErrorBodyBytes } from './errors.ts';
import { isLoopbackHost } from './hosts.ts';
import { loadUndici } from './undici-loader.ts';
import { type Challenge, challengesOf } from './www-authenticate.ts';

/** token.md: "if no expires_in is given, the client should assume 60 seconds". */
export const defaultTokenLifetimeSeconds = 60;
/** Refresh a token this long before it expires, so it does not lapse on the wire. */
const tokenRefreshMarginMs = 5_000;
/** A token response larger than this is not a token response. */
const maxTokenResponseBytes = 1024 * 1024;
/** Sent as OAuth2 client_id (oauth.md requires one). */
const clientId = 'berth';

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface AuthTarget {
  /** `host[:port]` of the endpoint the request goes to. */
  endpointHost: string;
  /** The host whose credentials apply (the namespace for its own server, the mirror's for a mirror). */
  credentialHost: string;
  /** `repository:<name>:pull[,push]` scopes the request needs (token.md "Requesting a Token"). */
  scopes: string[];
}

export function repositoryScope(repository: string, push: boolean): string {
  return `repository:${repository}:${push ? 'pull,push' : 'pull'}`;
}

export class Authorizer {
  readonly #credentials: CredentialProvider | undefined;
  readonly #dispatcher: (url: URL) => Dispatcher;
  readonly #challenges = new Map<string, Challenge>();
  readonly #tokens = new Map<string, CachedToken>();
  /** One token fetch per key at a time: concurrent layer fetches share it. */
  readonly #inflight = new Map<string, Promise<string>>();

  constructor(credentials: CredentialProvider | undefined, dispatcher: (url: URL) => Dispatcher) {
    this.#credentials = credentials;
    this.#dispatcher = dispatcher;
  }

  /** The header for a request, or undefined while the host has not challenged us. */
  async authorization(target: AuthTarget, signal?: AbortSignal): Promise<string | undefined> {
    const challenge = this.#challenges.get(target.endpointHost);
    if (challenge === undefined) return undefined;
    const creds = await this.#credentials?.(target.credentialHost, signal);
    if (challenge.scheme === 'basic') {
      if (creds?.username === undefined || creds.password === undefined) return undefined;
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    if (creds?.registryToken !== undefined) return `Bearer ${creds.registryToken}`;
    return `Bearer ${await this.#token(target, challenge, creds, signal)}`;
  }

  /**
   * Records the challenge of a 401 and says whether one more attempt can succeed: yes when it is a
   * scheme we speak and (for Basic) we have credentials to send.
   */
  async unauthorized(
    target: AuthTarget,
    wwwAuthenticate: string | string[] | undefined,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const all = challengesOf(wwwAuthenticate);
    const challenge = all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
    if (challenge === undefined) return false;
    this.#challenges.set(target.endpointHost, challenge);
    // A token that was refused (revoked, expired early) must not be offered again.
    for (const key of this.#tokens.keys())
      if (key.startsWith(`${target.endpointHost}|`)) this.#tokens.delete(key);
    if (challenge.scheme === 'basic') {
      const creds = await this.#credentials?.(target.credentialHost, signal);
      return creds?.username !== undefined && creds.password !== undefined;
    }
    return true;
  }

  async #token(
    target: AuthTarget,
    challenge: Challenge,
    creds: Credentials | undefined,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const realm = challenge.params.realm;
    if (realm === undefined || realm === '')
      throw new UnauthenticatedError(`${target.endpointHost} sent a Bearer challenge without a realm`);
    // The challenge's own scope (e.g. for a mount source) joins the ones the request needs.
    const scopes = [...new Set([...target.scopes, ...(challenge.params.scope ?? '').split(' ')])]
      .filter((s) => s !== '')
      .sort();
    const service = challenge.params.service ?? '';
    const key = `${target.endpointHost}|${realm}|${service}|${scopes.join(' ')}`;
    const cached = this.#tokens.get(key);
    if (cached !== undefined && cached.expiresAt > Date.now()) return cached.token;
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = this.#fetchToken(target, realm, service, scopes, creds, signal)
        .then(({ token, expiresAt }) => {
          this.#tokens.set(key, { token, expiresAt });
          return token;
        })
        .finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  async #fetchToken(
    target: AuthTarget,
    realm: string,
    service: string,
    scopes: string[],
    creds: Credentials | undefined,
    signal: AbortSignal | undefined,
  ): Promise<CachedToken> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      throw new UnauthenticatedError(
        `${target.endpointHost} named an invalid token realm ${JSON.stringify(realm)}`,
      );
    }
    const hasSecret = creds?.identityToken !== undefined || creds?.password !== undefined;
    // Secrets go only over TLS, or to a realm on this machine or on the registry's own host.
    if (
      hasSecret &&
      url.protocol !== 'https:' &&
      !isLoopbackHost(url.host) &&
      url.host !== target.endpointHost
    ) {
      throw new UnauthenticatedError(
        `${target.endpointHost}: refusing to send credentials to token realm ${realm} over plain HTTP`,
      );
    }
    const started = Date.now();
    let res: Dispatcher.ResponseData;
    const { request } = await loadUndici();
    const common = { dispatcher: this.#dispatcher(url), signal, headersTimeout: 30_000, bodyTimeout: 30_000 };
    try {
      if (creds?.identityToken !== undefined) {
        // oauth.md "Refresh token format": form-encoded POST, scopes space-separated.
        const form = new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: creds.identityToken,
          service,
          client_id: clientId,
          scope: scopes.join(' '),
        });
        res = await request(url, {
          ...common,
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
        });
      } else {
        if (service !== '') url.searchParams.set('service', service);
        for (const s of scopes) url.searchParams.append('scope', s);
        const headers: Record<string, string> = {};
        if (creds?.username !== undefined && creds.password !== undefined)
          headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
        res = await request(url, { ...common, method: 'GET', headers });
      }
    } catch (err) {
      if (err instanceof Error && err.name === 'AbortError') throw err;
      throw new UnavailableError(`cannot reach token realm ${realm} for ${target.endpointHost}: ${err}`, {
        cause: err,
      });
    }
    const text = (
      await readBodyLimited(res.body, res.statusCode === 200 ? maxTokenResponseBytes : maxErrorBodyBytes)
    ).toString('utf8');
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new UnauthenticatedError(
        `token realm ${url.origin}${url.pathname} refused the credentials for ${target.credentialHost} (HTTP ${res.statusCode})`,
        { hint: `log in to ${target.credentialHost} or check the credentials configured for it` },
      );
    }
    if (res.statusCode !== 200)
      throw new UnavailableError(`token realm ${url.origin}${url.pathname} answered HTTP ${res.statusCode}`);
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      throw new InvalidArgumentError(`token realm ${realm} answered with something that is not JSON`);
    }
    const token = typeof body.token === 'string' && body.token !== '' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '')
      throw new InvalidArgumentError(`token realm ${realm} answered without a token`);
    const lifetime =
      typeof body.expires_in === 'number' && body.expires_in > 0
        ? body.expires_in
        : defaultTokenLifetimeSeconds;
    return { token, expiresAt: started + Math.max(0, lifetime * 1000 - tokenRefreshMarginMs) };
  }
}
