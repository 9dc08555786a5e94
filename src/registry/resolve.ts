// Resolving a tag (or checking a digest) to a Descriptor, and fetching a manifest's bytes
// (distribution-spec "Pulling manifests" and "Checking if content exists in the registry").
// HEAD first: it costs no body. Its answer is enough when it carries Docker-Content-Digest,
// Content-Length and a manifest Content-Type; otherwise (no digest header, 405 from a registry
// that does not implement HEAD, a generic Content-Type) a GET reads the manifest, capped at 4 MiB
// (distribution-spec: registries SHOULD accept manifests up to 4 MiB; larger ones are refused).

import { createHash } from 'node:crypto';
import { DataLossError, InvalidArgumentError, ResourceExhaustedError } from '../errdefs/index.ts';
import { type Descriptor, type Digest, MediaType, parseDigest } from '../oci/image/index.ts';
import { discardBody, readBodyLimited } from './body.ts';
import {
  checkReference,
  checkRepository,
  endpointUrl,
  type RegistryContext,
  tryEndpoints,
} from './context.ts';
import type { Subject } from './errors.ts';
import type { Endpoint } from './hosts.ts';
import type { Reply } from './transport.ts';

/** The largest manifest or index berth reads (distribution-spec "Pushing Manifests": 4 MiB). */
export const maxManifestBytes = 4 * 1024 * 1024;

/** What a pull accepts: OCI and Docker schema2, single manifests and indexes. */
export const defaultManifestAccept: readonly string[] = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest,
];

export interface ResolveOptions {
  accept?: readonly string[];
  signal?: AbortSignal;
}

function header(reply: Reply, name: string): string | undefined {
  const v = reply.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `application/vnd.oci.image.index.v1+json; charset=utf-8` → the bare media type. */
function contentType(reply: Reply): string {
  return (header(reply, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function isManifestType(type: string): boolean {
  return type.startsWith('application/vnd.');
}

/** The media type from the document itself when the Content-Type says nothing useful. */
function sniffMediaType(bytes: Buffer, what: string): string {
  let doc: { mediaType?: unknown; manifests?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw new InvalidArgumentError(`${what} is not JSON and its Content-Type names no manifest type`);
  }
  if (typeof doc.mediaType === 'string' && doc.mediaType !== '') return doc.mediaType;
  return Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
}

export function digestOf(bytes: Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Reads a manifest body within the cap: Content-Length is checked before a byte is read. */
async function readManifest(reply: Reply, subject: Subject): Promise<Buffer> {
  const declared = Number(header(reply, 'content-length') ?? Number.NaN);
  const what = `${subject.object} in ${subject.host}/${subject.repository}`;
  if (declared > maxManifestBytes) {
    reply.body.destroy();
    throw new ResourceExhaustedError(
      `${what} is ${declared} bytes, over the ${maxManifestBytes}-byte manifest limit`,
    );
  }
  return readBodyLimited(reply.body, maxManifestBytes, what);
}

/** Checks `bytes` against `expected` (a digest the caller or the registry named). */
function verify(bytes: Buffer, expected: Digest, subject: Subject, source: string): void {
  const actual = digestOf(bytes, parseDigest(expected).algorithm);
  if (actual !== expected)
    throw new DataLossError(
      `${subject.object} from ${subject.host}/${subject.repository}: content is ${actual}, but ${source} said ${expected}`,
    );
}

async function getManifest(
  ctx: RegistryContext,
  endpoint: Endpoint,
  host: string,
  repository: string,
  reference: string,
  subject: Subject,
  opts: ResolveOptions,
): Promise<{ bytes: Buffer; reply: Reply }> {
  const reply = await ctx.transport.send({
    method: 'GET',
    endpoint,
    url: endpointUrl(endpoint, host, repository, `manifests/${reference}`),
    host,
    repository,
    headers: { accept: (opts.accept ?? defaultManifestAccept).join(', ') },
    subject,
    signal: opts.signal,
  });
  if (reply.status !== 200) throw await ctx.transport.fail(reply, subject, endpoint);
  return { bytes: await readManifest(reply, subject), reply };
}

export async function resolve(
  ctx: RegistryContext,
  host: string,
  repository: string,
  reference: string,
  opts: ResolveOptions = {},
): Promise<Descriptor> {
  checkRepository(repository);
  const byDigest = checkReference(reference);
  const subject: Subject = { host, repository, object: `manifest ${JSON.stringify(reference)}` };
  return tryEndpoints(ctx, host, 'resolve', async (endpoint) => {
    const head = await ctx.transport.send({
      method: 'HEAD',
      endpoint,
      url: endpointUrl(endpoint, host, repository, `manifests/${reference}`),
      host,
      repository,
      headers: { accept: (opts.accept ?? defaultManifestAccept).join(', ') },
      subject,
      signal: opts.signal,
    });
    await discardBody(head.body);
    // 405 (and 501): HEAD not implemented by this registry; fall back to GET. Other 4xx: a HEAD
    // reply has no body, so the GET below fetches the registry's error document for the message.
    if (head.status !== 200 && !(head.status >= 400 && head.status < 500) && head.status !== 501)
      throw await ctx.transport.fail(head, subject, endpoint);
    if (head.status === 200) {
      const headerDigest = header(head, 'docker-content-digest');
      const size = Number(header(head, 'content-length') ?? Number.NaN);
      const mediaType = contentType(head);
      if (byDigest && headerDigest !== undefined && headerDigest !== reference)
        throw new DataLossError(
          `${subject.object} in ${host}/${repository}: ${endpoint.host} answered for ${headerDigest}`,
        );
      const digest = byDigest ? reference : headerDigest;
      if (digest !== undefined && Number.isSafeInteger(size) && size > 0 && isManifestType(mediaType)) {
        parseDigest(digest, `Docker-Content-Digest from ${endpoint.host}`);
        return { mediaType, digest, size };
      }
    }
    const { bytes, reply } = await getManifest(ctx, endpoint, host, repository, reference, subject, opts);
    const headerDigest = header(reply, 'docker-content-digest');
    if (byDigest) verify(bytes, reference, subject, 'the reference');
    else if (headerDigest !== undefined)
      verify(bytes, headerDigest, subject, `${endpoint.host}'s Docker-Content-Digest`);
    const type = contentType(reply);
    return {
      mediaType: isManifestType(type)
        ? type
        : sniffMediaType(bytes, `${subject.object} in ${host}/${repository}`),
      digest: byDigest ? reference : (headerDigest ?? digestOf(bytes)),
      size: bytes.length,
    };
  });
}

/** The bytes of the manifest or index `digest`, verified against it and capped at 4 MiB. */
export async function fetchManifest(
  ctx: RegistryContext,
  host: string,
  repository: string,
  digest: Digest,
  opts: ResolveOptions = {},
): Promise<Buffer> {
  checkRepository(repository);
  parseDigest(digest, 'manifest digest');
  const subject: Subject = { host, repository, object: `manifest ${digest}` };
  // By digest the content is self-verifying, so pull-only mirrors may serve it (docs/hosts.md).
  return tryEndpoints(ctx, host, 'pull', async (endpoint) => {
    const { bytes } = await getManifest(ctx, endpoint, host, repository, digest, subject, opts);
    verify(bytes, digest, subject, 'the reference');
    return bytes;
  });
}
