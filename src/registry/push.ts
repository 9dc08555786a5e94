// Pushing (distribution-spec "Push"): blobs first, then the manifest that names them.
// A blob: HEAD /v2/<name>/blobs/<digest> (already there: done); else, given a source repository
// on the same registry, POST /blobs/uploads/?mount=<digest>&from=<repo> ("Mounting a blob from
// another repository": 201 = mounted, 202 = not mounted, an upload session was opened instead);
// else POST /blobs/uploads/ and then either one PUT <location>?digest=<digest> with the whole body
// ("Pushing a blob monolithically") or PATCHes of `chunkSize` bytes with Content-Range and a final
// empty PUT ("Pushing a blob in chunks"). Bytes are streamed, never buffered whole; a chunked push
// holds one chunk in memory.

import type { Readable } from 'node:stream';
import { DataLossError, InvalidArgumentError, isBerthError, UnavailableError } from '../errdefs/index.ts';
import { type Descriptor, parseDigest } from '../oci/image/index.ts';
import { discardBody } from './body.ts';
import {
  checkReference,
  checkRepository,
  endpointUrl,
  type RegistryContext,
  tryEndpoints,
} from './context.ts';
import type { Subject } from './errors.ts';
import type { Endpoint } from './hosts.ts';
import { digestOf, maxManifestBytes } from './resolve.ts';
import { backoffDelay, waitBeforeRetry } from './retry.ts';
import type { Reply } from './transport.ts';

/** Opens the blob's bytes; called again if the upload has to start over, never if not needed. */
export type BlobSource = () => Readable | Promise<Readable>;

export interface PushBlobOptions {
  /** A repository on the same registry that holds the blob: try a cross-repository mount first. */
  mountFrom?: string;
  /** Upload in PATCH chunks of this many bytes instead of one PUT. */
  chunkSize?: number;
  signal?: AbortSignal;
}

export type PushBlobResult = 'exists' | 'mounted' | 'uploaded';

function location(reply: Reply, subject: Subject): URL {
  const loc = reply.headers.location;
  if (typeof loc !== 'string' || loc === '')
    throw new UnavailableError(
      `${subject.object} in ${subject.host}/${subject.repository}: upload reply has no Location`,
    );
  return new URL(loc, reply.url);
}

async function readChunk(
  iterator: AsyncIterator<Buffer>,
  pending: Buffer[],
  size: number,
): Promise<Buffer | undefined> {
  let total = pending.reduce((n, b) => n + b.length, 0);
  while (total < size) {
    const next = await iterator.next();
    if (next.done) break;
    pending.push(next.value);
    total += next.value.length;
  }
  if (total === 0) return undefined;
  const all = Buffer.concat(pending.splice(0));
  if (all.length > size) pending.push(all.subarray(size));
  return all.subarray(0, size);
}

async function upload(
  ctx: RegistryContext,
  endpoint: Endpoint,
  host: string,
  repository: string,
  desc: Descriptor,
  source: BlobSource,
  opts: PushBlobOptions,
  subject: Subject,
): Promise<PushBlobResult> {
  const base = { endpoint, host, repository, push: true, subject, signal: opts.signal };
  const start = endpointUrl(endpoint, host, repository, 'blobs/uploads/');
  if (opts.mountFrom !== undefined) {
    start.searchParams.set('mount', desc.digest);
    start.searchParams.set('from', opts.mountFrom);
  }
  const started = await ctx.transport.send({
    ...base,
    method: 'POST',
    url: start,
    headers: { 'content-length': '0' },
    extraPullRepositories: opts.mountFrom === undefined ? [] : [opts.mountFrom],
  });
  await discardBody(started.body);
  if (started.status === 201 && opts.mountFrom !== undefined) return 'mounted';
  if (started.status !== 202) throw await ctx.transport.fail(started, subject, endpoint);
  let url = location(started, subject);
  const stream = await source();
  if (opts.chunkSize === undefined) {
    url.searchParams.set('digest', desc.digest);
    const put = await ctx.transport.send({
      ...base,
      method: 'PUT',
      url,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
      body: stream,
    });
    if (put.status !== 201) throw await ctx.transport.fail(put, subject, endpoint);
    await discardBody(put.body);
    return 'uploaded';
  }
  const iterator = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const pending: Buffer[] = [];
  let offset = 0;
  try {
    for (let chunk = await readChunk(iterator, pending, opts.chunkSize); chunk; ) {
      // The PATCH is not idempotent, so it goes out once (a Buffer body would otherwise be retried).
      const patch = await ctx.transport.send({
        ...base,
        method: 'PATCH',
        url,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(chunk.length),
          'content-range': `${offset}-${offset + chunk.length - 1}`,
        },
        body: chunk,
        once: true,
      });
      if (patch.status !== 202) throw await ctx.transport.fail(patch, subject, endpoint);
      await discardBody(patch.body);
      url = location(patch, subject);
      offset += chunk.length;
      chunk = await readChunk(iterator, pending, opts.chunkSize);
    }
  } finally {
    await iterator.return?.();
  }
  if (offset !== desc.size)
    throw new DataLossError(
      `${subject.object}: the source gave ${offset} bytes, the descriptor says ${desc.size}`,
    );
  url.searchParams.set('digest', desc.digest);
  const put = await ctx.transport.send({ ...base, method: 'PUT', url, headers: { 'content-length': '0' } });
  if (put.status !== 201) throw await ctx.transport.fail(put, subject, endpoint);
  await discardBody(put.body);
  return 'uploaded';
}

export async function pushBlob(
  ctx: RegistryContext,
  host: string,
  repository: string,
  desc: Descriptor,
  source: BlobSource,
  opts: PushBlobOptions = {},
): Promise<PushBlobResult> {
  checkRepository(repository);
  if (opts.mountFrom !== undefined) checkRepository(opts.mountFrom);
  parseDigest(desc.digest, 'blob digest');
  if (opts.chunkSize !== undefined && !(Number.isSafeInteger(opts.chunkSize) && opts.chunkSize > 0))
    throw new InvalidArgumentError(`chunk size ${opts.chunkSize} must be a positive integer`);
  const subject: Subject = { host, repository, object: `blob ${desc.digest}` };
  return tryEndpoints(ctx, host, 'push', async (endpoint) => {
    const head = await ctx.transport.send({
      method: 'HEAD',
      endpoint,
      url: endpointUrl(endpoint, host, repository, `blobs/${desc.digest}`),
      host,
      repository,
      push: true,
      subject,
      signal: opts.signal,
    });
    await discardBody(head.body);
    if (head.status === 200) return 'exists';
    if (head.status !== 404) throw await ctx.transport.fail(head, subject, endpoint);
    // A streamed upload cannot be re-sent by the transport, so a transient failure restarts the
    // whole upload with a fresh stream from `source`, within the same attempt budget.
    for (let attempt = 1; ; attempt++) {
      try {
        return await upload(ctx, endpoint, host, repository, desc, source, opts, subject);
      } catch (err) {
        if (!(isBerthError(err) && err.code === 'Unavailable') || attempt >= ctx.retry.attempts) throw err;
        await waitBeforeRetry(backoffDelay(ctx.retry, attempt, undefined), subject.object, opts.signal);
      }
    }
  });
}

/** PUT /v2/<name>/manifests/<tag or digest>; returns the manifest's descriptor. */
export async function pushManifest(
  ctx: RegistryContext,
  host: string,
  repository: string,
  reference: string,
  bytes: Uint8Array,
  mediaType: string,
  opts: { signal?: AbortSignal } = {},
): Promise<Descriptor> {
  checkRepository(repository);
  const byDigest = checkReference(reference);
  if (bytes.length > maxManifestBytes)
    throw new InvalidArgumentError(
      `manifest for ${host}/${repository}:${reference} is over ${maxManifestBytes} bytes`,
    );
  const digest = digestOf(bytes);
  if (byDigest && reference !== digest)
    throw new InvalidArgumentError(
      `manifest bytes are ${digest}, not the digest ${reference} they are pushed as`,
    );
  const subject: Subject = { host, repository, object: `manifest ${JSON.stringify(reference)}` };
  return tryEndpoints(ctx, host, 'push', async (endpoint) => {
    const reply = await ctx.transport.send({
      method: 'PUT',
      endpoint,
      url: endpointUrl(endpoint, host, repository, `manifests/${reference}`),
      host,
      repository,
      push: true,
      headers: { 'content-type': mediaType },
      body: bytes,
      subject,
      signal: opts.signal,
    });
    if (reply.status !== 201) throw await ctx.transport.fail(reply, subject, endpoint);
    await discardBody(reply.body);
    const said = reply.headers['docker-content-digest'];
    if (typeof said === 'string' && said.startsWith('sha256:') && said !== digest)
      throw new DataLossError(
        `${subject.object} in ${host}/${repository}: registry stored ${said}, we sent ${digest}`,
      );
    return { mediaType, digest, size: bytes.length };
  });
}
