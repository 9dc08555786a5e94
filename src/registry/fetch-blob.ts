// Streaming a blob (distribution-spec "Pulling blobs"): GET /v2/<name>/blobs/<digest>, from byte
// `offset` on with `Range: bytes=<offset>-` so an interrupted download resumes where its ingest file
// ends. Things real registries and CDNs do that this file handles:
//  - answer a Range request with 200 and the whole blob (registry.k8s.io's CDN): the first `offset`
//    bytes are read and dropped here, so the caller still gets exactly the bytes from `offset` on;
//  - redirect to a storage host (transport.ts follows it without our Authorization header);
//  - drop the connection mid-body: the download resumes with a Range request from the last byte
//    delivered, up to the retry policy's attempts;
//  - go silent: after `stallTimeoutMs` without a byte the stream fails with DeadlineExceededError
//    (a slow transfer that keeps moving is never cut; the total duration is the caller's signal).
// With offset 0 the bytes are also hashed and the stream fails with DataLossError instead of ending
// when they do not match the descriptor; with an offset the caller hashes what its file holds.
// A body that ends cleanly short of the descriptor's size is resumed like a dropped connection;
// when the attempts run out it is UnavailableError (retryable: a pull keeps the partial ingest),
// never DataLoss, which is for bytes that are wrong.
//
// The stream reads undici's body with 'data' events and pushes each chunk on as it is: no async
// iterator (whose read() concatenates whatever chunks are buffered), no generator and no
// Readable.from around it, i.e. no promise per chunk. With the same change in the pull's download
// (src/images/layer-download.ts) this took ~0.05 s of main-thread CPU off a 50 MB pull, CPU the
// unpack workers want on a small machine (docs/performance.md, Pull).

import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import {
  CanceledError,
  DataLossError,
  DeadlineExceededError,
  InvalidArgumentError,
  UnavailableError,
} from '../errdefs/index.ts';
import { type Descriptor, parseDigest } from '../oci/image/index.ts';
import { stallTimer } from './body.ts';
import { checkRepository, endpointUrl, type RegistryContext, tryEndpoints } from './context.ts';
import { isAbort, isConnectionError, type Subject } from './errors.ts';
import type { Endpoint } from './hosts.ts';
import { backoffDelay, waitBeforeRetry } from './retry.ts';
import type { Reply } from './transport.ts';

export interface FetchBlobOptions {
  /** Start at this byte (resume); 0 by default. */
  offset?: number;
  /** Hash the bytes and fail on mismatch (only possible from offset 0); true by default. */
  verify?: boolean;
  signal?: AbortSignal;
}

interface Opened {
  reply: Reply;
  /** Bytes at the head of the body to drop: the registry ignored our Range. */
  skip: number;
}

async function open(
  ctx: RegistryContext,
  endpoint: Endpoint,
  host: string,
  repository: string,
  desc: Descriptor,
  position: number,
  subject: Subject,
  signal: AbortSignal | undefined,
): Promise<Opened> {
  const reply = await ctx.transport.send({
    method: 'GET',
    endpoint,
    url: endpointUrl(endpoint, host, repository, `blobs/${desc.digest}`),
    host,
    repository,
    headers: position > 0 ? { range: `bytes=${position}-` } : {},
    followRedirects: true,
    subject,
    signal,
  });
  if (reply.status === 200) return { reply, skip: position };
  if (reply.status === 206) {
    // RFC 9110 14.4: Content-Range: bytes <first>-<last>/<complete-length>
    const range = String(reply.headers['content-range'] ?? '');
    const first = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(range)?.[1];
    if (first === undefined || Number(first) > position) {
      reply.body.destroy();
      throw new DataLossError(
        `${subject.object} in ${host}/${repository}: asked for bytes ${position}- but ${endpoint.host} sent ${JSON.stringify(range)}`,
      );
    }
    return { reply, skip: position - Number(first) };
  }
  throw await ctx.transport.fail(reply, subject, endpoint);
}

export async function fetchBlob(
  ctx: RegistryContext,
  host: string,
  repository: string,
  desc: Descriptor,
  opts: FetchBlobOptions = {},
): Promise<Readable> {
  checkRepository(repository);
  const { algorithm } = parseDigest(desc.digest, 'blob digest');
  const offset = opts.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > desc.size)
    throw new InvalidArgumentError(`blob ${desc.digest}: offset ${offset} is outside its ${desc.size} bytes`);
  const subject: Subject = { host, repository, object: `blob ${desc.digest}` };
  if (offset === desc.size) return Readable.from([]);
  let endpoint: Endpoint | undefined;
  const opened = await tryEndpoints(ctx, host, 'pull', async (e) => {
    const o = await open(ctx, e, host, repository, desc, offset, subject, opts.signal);
    endpoint = e;
    return o;
  });
  return new BlobStream({
    ctx,
    host,
    repository,
    desc,
    subject,
    endpoint: endpoint as Endpoint,
    offset,
    hash: opts.verify !== false && offset === 0 ? createHash(algorithm) : undefined,
    algorithm,
    signal: opts.signal,
    opened,
  });
}

interface BlobStreamInit {
  ctx: RegistryContext;
  host: string;
  repository: string;
  desc: Descriptor;
  subject: Subject;
  endpoint: Endpoint;
  offset: number;
  hash: Hash | undefined;
  algorithm: string;
  signal: AbortSignal | undefined;
  opened: Opened;
}

type Body = Dispatcher.ResponseData['body'];

/**
 * The blob's bytes from `offset` on, across as many responses as resuming needs. Flow control: a
 * chunk the stream cannot take (push() false) pauses the body until _read(); while paused by us the
 * stall timer is off, so a slow consumer is never taken for a silent registry.
 */
class BlobStream extends Readable {
  readonly #i: BlobStreamInit;
  readonly #what: string;
  /** Bytes of the blob delivered (pushed) so far, counted from 0, `offset` included. */
  #position: number;
  #failures = 0;
  /** Bytes at the head of the current body to drop (a 200 answer to a Range request). */
  #skip: number;
  #body: Body | undefined;
  #stall: { touch(): void; stop(): void } | undefined;
  #stalled: DeadlineExceededError | undefined;
  /** Paused by us because push() said the consumer has enough. */
  #held = false;
  /** Aborts a retry's wait and request when the stream is destroyed by its consumer. */
  readonly #gone = new AbortController();

  constructor(init: BlobStreamInit) {
    super();
    this.#i = init;
    this.#what = `${init.subject.object} in ${init.host}/${init.repository}`;
    this.#position = init.offset;
    this.#skip = 0;
    this.#attach(init.opened);
  }

  override _read(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#stall?.touch();
    this.#body?.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#gone.abort();
    this.#detach();
    callback(err);
  }

  #attach(opened: Opened): void {
    const body = opened.reply.body;
    this.#body = body;
    this.#skip = opened.skip;
    this.#stalled = undefined;
    this.#stall = stallTimer(this.#i.ctx.stallTimeoutMs, () => {
      this.#stalled = new DeadlineExceededError(
        `${this.#what}: no data from ${this.#i.endpoint.host} for ${this.#i.ctx.stallTimeoutMs / 1000} s after ${this.#position} of ${this.#i.desc.size} bytes`,
      );
      body.destroy(this.#stalled);
    });
    body.on('data', this.#onData).on('end', this.#onEnd).on('error', this.#onError);
    if (this.#held) {
      this.#stall.stop();
      body.pause();
    }
  }

  /** Stops listening to the current body, and drops it unless it ended (its connection is reused). */
  #detach(ended = false): void {
    this.#stall?.stop();
    this.#stall = undefined;
    const body = this.#body;
    if (body === undefined) return;
    this.#body = undefined;
    body.off('data', this.#onData).off('end', this.#onEnd).off('error', this.#onError);
    // A late error of a body we no longer read must not become an unhandled 'error' event.
    body.on('error', () => undefined);
    if (!ended && !body.destroyed) body.destroy();
  }

  readonly #onData = (raw: Buffer): void => {
    this.#stall?.touch();
    let chunk = raw;
    if (this.#skip > 0) {
      const dropped = Math.min(this.#skip, chunk.length);
      this.#skip -= dropped;
      chunk = chunk.subarray(dropped);
      if (chunk.length === 0) return;
    }
    const { desc, endpoint } = this.#i;
    if (this.#position + chunk.length > desc.size) {
      this.#fail(
        new DataLossError(
          `${this.#what}: ${endpoint.host} sent more than the descriptor's ${desc.size} bytes`,
        ),
      );
      return;
    }
    this.#position += chunk.length;
    this.#i.hash?.update(chunk);
    if (!this.push(chunk) && this.#body !== undefined && !this.destroyed) {
      this.#held = true;
      this.#stall?.stop();
      this.#body.pause();
    }
  };

  readonly #onEnd = (): void => {
    this.#detach(true);
    const { desc, endpoint, hash, algorithm } = this.#i;
    if (this.#position === desc.size) {
      if (hash !== undefined) {
        const actual = `${algorithm}:${hash.digest('hex')}`;
        if (actual !== desc.digest) {
          this.#fail(
            new DataLossError(
              `${this.#what}: content from ${endpoint.host} is ${actual}, expected ${desc.digest}`,
            ),
          );
          return;
        }
      }
      this.push(null);
      return;
    }
    // The body ended cleanly but early (a short Content-Length, a proxy that cut it): resumed like a
    // dropped connection. Running out of attempts is Unavailable, not DataLoss: nothing delivered
    // was wrong, so the caller keeps it and a later pull resumes from there.
    this.#failures++;
    if (this.#failures >= this.#i.ctx.retry.attempts) {
      this.#fail(
        new UnavailableError(
          `${this.#what}: ${endpoint.host} sent only ${this.#position} of ${desc.size} bytes (${this.#failures} attempts)`,
        ),
      );
      return;
    }
    void this.#resume();
  };

  readonly #onError = (err: Error): void => {
    const stalled = this.#stalled;
    this.#detach();
    if (stalled !== undefined) {
      this.#fail(stalled);
      return;
    }
    if (isAbort(err) || this.#i.signal?.aborted) {
      this.#fail(new CanceledError(`${this.#what}: canceled`, { cause: err }));
      return;
    }
    if (!isConnectionError(err)) {
      this.#fail(err);
      return;
    }
    this.#failures++;
    if (this.#failures >= this.#i.ctx.retry.attempts) {
      this.#fail(
        new UnavailableError(
          `${this.#what}: connection to ${this.#i.endpoint.host} kept failing after ${this.#position} of ${this.#i.desc.size} bytes (${this.#failures} attempts)`,
          { cause: err },
        ),
      );
      return;
    }
    void this.#resume();
  };

  /** After a backoff, asks again from the first byte not yet delivered. */
  async #resume(): Promise<void> {
    const { ctx, host, repository, desc, subject, endpoint } = this.#i;
    const caller = this.#i.signal;
    const signal = caller === undefined ? this.#gone.signal : AbortSignal.any([caller, this.#gone.signal]);
    let opened: Opened;
    try {
      await waitBeforeRetry(backoffDelay(ctx.retry, this.#failures, undefined), this.#what, signal);
      opened = await open(ctx, endpoint, host, repository, desc, this.#position, subject, signal);
    } catch (err) {
      if (this.destroyed) return;
      this.#fail(isAbort(err) ? new CanceledError(`${this.#what}: canceled`, { cause: err }) : err);
      return;
    }
    if (this.destroyed) {
      opened.reply.body.on('error', () => undefined).destroy();
      return;
    }
    this.#attach(opened);
  }

  #fail(err: unknown): void {
    this.#detach();
    this.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}
