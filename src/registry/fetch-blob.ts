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

import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
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
  const what = `${subject.object} in ${host}/${repository}`;
  if (offset === desc.size) return Readable.from([]);
  let endpoint: Endpoint | undefined;
  let opened = await tryEndpoints(ctx, host, 'pull', async (e) => {
    const o = await open(ctx, e, host, repository, desc, offset, subject, opts.signal);
    endpoint = e;
    return o;
  });
  const hash: Hash | undefined = opts.verify !== false && offset === 0 ? createHash(algorithm) : undefined;

  async function* bytes(): AsyncGenerator<Buffer> {
    let position = offset;
    let failures = 0;
    while (true) {
      let skip = opened.skip;
      const body = opened.reply.body;
      let stalled: DeadlineExceededError | undefined;
      let dropped = false;
      const stall = stallTimer(ctx.stallTimeoutMs, () => {
        stalled = new DeadlineExceededError(
          `${what}: no data from ${endpoint?.host} for ${ctx.stallTimeoutMs / 1000} s after ${position} of ${desc.size} bytes`,
        );
        body.destroy(stalled);
      });
      try {
        for await (const raw of body as AsyncIterable<Buffer>) {
          stall.touch();
          let chunk = raw;
          if (skip > 0) {
            const dropped = Math.min(skip, chunk.length);
            skip -= dropped;
            chunk = chunk.subarray(dropped);
            if (chunk.length === 0) continue;
          }
          if (position + chunk.length > desc.size)
            throw new DataLossError(
              `${what}: ${endpoint?.host} sent more than the descriptor's ${desc.size} bytes`,
            );
          position += chunk.length;
          hash?.update(chunk);
          yield chunk;
        }
      } catch (err) {
        if (stalled !== undefined) throw stalled;
        if (isAbort(err) || opts.signal?.aborted)
          throw new CanceledError(`${what}: canceled`, { cause: err });
        if (!isConnectionError(err)) throw err;
        dropped = true;
        failures++;
        if (failures >= ctx.retry.attempts || endpoint === undefined)
          throw new UnavailableError(
            `${what}: connection to ${endpoint?.host} kept failing after ${position} of ${desc.size} bytes (${failures} attempts)`,
            { cause: err },
          );
      } finally {
        stall.stop();
      }
      if (position === desc.size) break;
      // The body ended (or the connection dropped) early: resume from where the bytes stopped.
      if (!dropped) failures++; // a clean but short end counts as a failure too
      if (failures >= ctx.retry.attempts || endpoint === undefined)
        throw new DataLossError(`${what}: ${endpoint?.host} sent only ${position} of ${desc.size} bytes`);
      await waitBeforeRetry(backoffDelay(ctx.retry, failures, undefined), what, opts.signal);
      try {
        opened = await open(ctx, endpoint, host, repository, desc, position, subject, opts.signal);
      } catch (err) {
        throw isAbort(err) ? new CanceledError(`${what}: canceled`, { cause: err }) : err;
      }
    }
    if (hash !== undefined) {
      const actual = `${algorithm}:${hash.digest('hex')}`;
      if (actual !== desc.digest)
        throw new DataLossError(
          `${what}: content from ${endpoint?.host} is ${actual}, expected ${desc.digest}`,
        );
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}
