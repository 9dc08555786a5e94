// The pull pipeline (design.md "Data flow: Pull"): reference → resolve → manifest/index (platform
// match) → config → every layer at once, each in ONE pass: the registry's bytes are written to the
// content ingest and fed to the unpacker, which hashes them, decompresses, hashes the tar (diffID)
// and applies it to the layer's own snapshot directory. A blob and a snapshot are committed only
// after digest, size and diffID verify; the image record only when every layer has.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AlreadyExistsError,
  CanceledError,
  DeadlineExceededError,
  InvalidArgumentError,
  isBerthError,
  NotFoundError,
  UnavailableError,
} from '../errdefs/index.ts';
import type { Metadata } from '../metadata/index.ts';
import {
  checkSizeLimit,
  type Descriptor,
  formatPlatform,
  hostPlatform,
  type ImageConfig,
  MAX_MANIFEST_SIZE,
  type Manifest,
  type Platform,
  parseManifestOrIndex,
  platformMatcher,
  readLimited,
  selectManifest,
  validateImageConfig,
} from '../oci/image/index.ts';
import { formatReference, manifestTarget, parseReference } from '../reference/index.ts';
import type { RegistryClient } from '../registry/index.ts';
import type { Snapshotter } from '../snapshot/types.ts';
import type { ApplyLayerOptions, ApplyLayerResult } from '../unpack/types.ts';
import { createLimiter } from '../util/limiter.ts';
import { chainIDs } from './chain-id.ts';
import { gcLabelsForConfig, gcLabelsForIndex, gcLabelsForManifest } from './gc-labels.ts';
import type { LayerIngest, PullContent } from './pull-content.ts';
import type { ProgressListener, PulledImage } from './types.ts';

export type ApplyLayer = (input: Readable, options: ApplyLayerOptions) => Promise<ApplyLayerResult>;

export interface PullDeps {
  registry: RegistryClient;
  content: PullContent;
  metadata: Metadata;
  snapshotter: Snapshotter;
  applyLayer: ApplyLayer;
  maxConcurrentDownloads: number;
  maxConfigSize: number;
}

export interface PullOptions {
  platform?: Platform;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** How long a pull's lease protects what it wrote if the process dies mid-pull (then GC may sweep). */
export const pullLeaseLifetimeMs = 60 * 60 * 1000;

/**
 * Pulls `refText`. Everything the pull reads or writes (blobs, extract and committed snapshots) is
 * added to its lease *before* it is looked at or created, so a garbage collection running at the
 * same time either sees the lease and keeps it, or ran before and the pull finds it absent and
 * fetches it again (src/images/gc.ts). The lease goes when the image record exists.
 */
export async function pullImage(
  deps: PullDeps,
  refText: string,
  options: PullOptions = {},
): Promise<PulledImage> {
  const leaseID = `pull-${randomBytes(8).toString('hex')}`;
  deps.metadata.leases.create({ id: leaseID, expires: new Date(Date.now() + pullLeaseLifetimeMs) });
  try {
    return await pullLeased(deps, refText, options, leaseID);
  } finally {
    deps.metadata.leases.delete(leaseID);
  }
}

async function pullLeased(
  deps: PullDeps,
  refText: string,
  options: PullOptions,
  leaseID: string,
): Promise<PulledImage> {
  const { registry, content, metadata } = deps;
  const signal = options.signal;
  const progress: ProgressListener = options.onProgress ?? (() => undefined);
  const ref = parseReference(refText);
  const name = formatReference(ref);
  const host = ref.domain;
  const repo = ref.path;
  const platform = options.platform ?? hostPlatform();

  progress({ id: name, kind: 'index', phase: 'resolving', current: 0, total: 0 });
  const target = await registry.resolve(host, repo, manifestTarget(ref), { signal });
  const top = await fetchDocument(deps, leaseID, host, repo, target, signal);
  let manifestDesc = target;
  let manifest: Manifest;
  if (top.kind === 'index') {
    manifestDesc = selectManifest(top.index, platform, name);
    const chosen = await fetchDocument(deps, leaseID, host, repo, manifestDesc, signal);
    if (chosen.kind !== 'manifest') {
      throw new InvalidArgumentError(
        `${name}: index entry ${manifestDesc.digest} is an index, not an image manifest`,
      );
    }
    manifest = chosen.manifest;
  } else {
    manifest = top.manifest;
  }
  const config = await fetchConfig(deps, leaseID, host, repo, manifest.config, signal);
  const diffIDs = config.rootfs.diff_ids;
  if (diffIDs.length !== manifest.layers.length) {
    throw new InvalidArgumentError(
      `${name}: manifest ${manifestDesc.digest} has ${manifest.layers.length} layers but its config lists ${diffIDs.length} diff_ids`,
    );
  }
  const chain = chainIDs(diffIDs);
  const configPlatform: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant !== undefined) configPlatform.variant = config.variant;
  // A single-manifest image (or an index entry without a platform) says its platform only in the
  // config: refuse one this host (or --platform) cannot run, as containerd does.
  if (!platformMatcher(platform).match(configPlatform)) {
    throw new NotFoundError(
      `${name}: image is ${formatPlatform(configPlatform)}, not ${formatPlatform(platform)}`,
      {
        hint: 'choose another platform with --platform',
      },
    );
  }
  await unpackLayers(deps, {
    host,
    repo,
    name,
    layers: manifest.layers,
    diffIDs,
    chain,
    leaseID,
    progress,
    signal,
  });
  metadata.transaction(() => {
    if (top.kind === 'index') metadata.content.set(target.digest, gcLabelsForIndex(top.index));
    metadata.content.set(manifestDesc.digest, gcLabelsForManifest(manifest));
    metadata.content.set(manifest.config.digest, gcLabelsForConfig(deps.snapshotter.name, chain.at(-1)));
    metadata.images.put({
      name,
      target: { mediaType: target.mediaType, digest: target.digest, size: target.size },
    });
  });
  await content.setImage(name, target);
  return {
    name,
    target,
    manifest: manifestDesc,
    config: manifest.config,
    chainID: chain.at(-1) ?? '',
    platform: formatPlatform(configPlatform),
  };
}

type Document = ReturnType<typeof parseManifestOrIndex>;

/** A manifest or index: from the store when held, else from the registry (digest-verified there). */
async function fetchDocument(
  deps: PullDeps,
  leaseID: string,
  host: string,
  repo: string,
  desc: Descriptor,
  signal: AbortSignal | undefined,
): Promise<Document> {
  deps.metadata.leases.addResource(leaseID, { type: 'content', id: desc.digest });
  // One name for the document in every error, the size refusal included (it named no registry).
  const what = `manifest ${desc.digest} of ${host}/${repo}`;
  checkSizeLimit(desc.size, MAX_MANIFEST_SIZE, what);
  let bytes: Uint8Array;
  if (await deps.content.has(desc.digest)) {
    bytes = await deps.content.readBytes(desc.digest, MAX_MANIFEST_SIZE);
  } else {
    bytes = await deps.registry.fetchManifest(host, repo, desc.digest, { signal });
  }
  const doc = parseManifestOrIndex(bytes, desc.mediaType, what);
  await deps.content.put(desc, bytes);
  return doc;
}

async function fetchConfig(
  deps: PullDeps,
  leaseID: string,
  host: string,
  repo: string,
  desc: Descriptor,
  signal: AbortSignal | undefined,
): Promise<ImageConfig> {
  deps.metadata.leases.addResource(leaseID, { type: 'content', id: desc.digest });
  const what = `image config ${desc.digest} of ${host}/${repo}`;
  checkSizeLimit(desc.size, deps.maxConfigSize, what);
  let bytes: Uint8Array;
  if (await deps.content.has(desc.digest)) {
    bytes = await deps.content.readBytes(desc.digest, deps.maxConfigSize);
  } else {
    // fetchBlob verifies digest and size as the bytes arrive; readLimited stops a registry that
    // sends more than the descriptor said before it fills memory.
    const stream = await deps.registry.fetchBlob(host, repo, desc, { signal });
    bytes = await readLimited(stream, deps.maxConfigSize, what);
    await deps.content.put(desc, bytes);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    if (err instanceof SyntaxError)
      throw new InvalidArgumentError(`${what}: not valid JSON: ${err.message}`, { cause: err });
    throw err;
  }
  return validateImageConfig(json, what);
}

interface LayerJob {
  host: string;
  repo: string;
  name: string;
  layers: Descriptor[];
  diffIDs: string[];
  chain: string[];
  leaseID: string;
  progress: ProgressListener;
  signal: AbortSignal | undefined;
}

/** A promise with its resolve/reject outside, pre-handled so a failure nobody awaits is not fatal. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  const d = Promise.withResolvers<void>();
  d.promise.catch(() => undefined); // observed by the next layer, or by allSettled below
  return d;
}

async function unpackLayers(deps: PullDeps, job: LayerJob): Promise<void> {
  const { snapshotter, metadata } = deps;
  const limit = createLimiter(deps.maxConcurrentDownloads);
  const committed = job.layers.map(() => deferred());
  const tasks = job.layers.map((layer, i) =>
    limit(async () => {
      const chainID = job.chain[i] as string;
      const parent = i === 0 ? undefined : (job.chain[i - 1] as string);
      const previous =
        i === 0 ? Promise.resolve() : (committed[i - 1] as ReturnType<typeof deferred>).promise;
      try {
        metadata.leases.addResource(job.leaseID, { type: 'content', id: layer.digest });
        metadata.leases.addResource(job.leaseID, { type: 'snapshot', id: chainID });
        if (await snapshotExists(snapshotter, chainID)) {
          // The filesystem is there (another image shares the layer's chain) but maybe not this
          // image's blob of it (a different compression of the same tar): fetch it so the image is
          // whole in the store, for push, export and readers of the OCI layout.
          if (!(await deps.content.has(layer.digest))) await storeBlobOnly(deps, job, layer);
          job.progress({
            id: layer.digest,
            kind: 'layer',
            phase: 'exists',
            current: layer.size,
            total: layer.size,
          });
        } else {
          await unpackOne(deps, job, layer, i, chainID, parent, previous);
        }
        await previous;
        committed[i]?.resolve();
      } catch (err) {
        committed[i]?.reject(err);
        throw err;
      }
    }),
  );
  job.layers.forEach((layer) => {
    job.progress({ id: layer.digest, kind: 'layer', phase: 'waiting', current: 0, total: layer.size });
  });
  const results = await Promise.allSettled(tasks);
  // Report the first failure that is not merely "an earlier layer failed".
  const failure = results.find((r) => r.status === 'rejected');
  if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
}

/** An ingest for the layer, or undefined when another pull stored the blob since we looked. */
async function ingestUnlessStored(content: PullContent, layer: Descriptor): Promise<LayerIngest | undefined> {
  try {
    return await content.ingest(layer);
  } catch (err) {
    if (err instanceof AlreadyExistsError) return undefined;
    throw err;
  }
}

async function storeBlobOnly(deps: PullDeps, job: LayerJob, layer: Descriptor): Promise<void> {
  const ingest = await ingestUnlessStored(deps.content, layer);
  if (ingest === undefined) return;
  try {
    for await (const _ of downloadStream(deps, job, layer, ingest)) {
      // downloadStream writes each chunk to the ingest; nothing else wants the bytes
    }
    await ingest.commit();
  } catch (err) {
    if (isInterruption(err)) await ingest.close();
    else await ingest.abort();
    throw err;
  }
}

async function snapshotExists(snapshotter: Snapshotter, key: string): Promise<boolean> {
  try {
    return (await snapshotter.stat(key)).kind === 'committed';
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

async function unpackOne(
  deps: PullDeps,
  job: LayerJob,
  layer: Descriptor,
  i: number,
  chainID: string,
  parent: string | undefined,
  previous: Promise<void>,
): Promise<void> {
  const { snapshotter, content } = deps;
  const key = `extract-${randomBytes(6).toString('hex')}-${chainID}`;
  // Overlay layers hold only their own diff, so all of them unpack at once and get their parent at
  // commit; a native snapshot starts as a copy of its parent, so it waits for it.
  if (!snapshotter.layersIndependent) await previous;
  // Leased before it exists, so a garbage collection running now never sweeps a half-unpacked layer.
  deps.metadata.leases.addResource(job.leaseID, { type: 'snapshot', id: key });
  await snapshotter.prepare(key, snapshotter.layersIndependent ? undefined : parent, {
    labels: { 'berth.io/unpack-of': chainID },
    ...(job.signal === undefined ? {} : { signal: job.signal }),
  });
  let ingest: LayerIngest | undefined;
  try {
    const { dir, whiteouts } = await snapshotter.applyDir(key);
    let input: Readable;
    if (await content.has(layer.digest)) {
      input = content.read(layer.digest);
    } else {
      ingest = await ingestUnlessStored(content, layer);
      if (ingest === undefined) {
        input = content.read(layer.digest);
      } else {
        input = Readable.from(downloadStream(deps, job, layer, ingest));
      }
    }
    // Bytes from the registry are extracted as they arrive (one pass), so their phase is
    // 'downloading'; a blob already stored is only extracted.
    job.progress({
      id: layer.digest,
      kind: 'layer',
      phase: ingest === undefined ? 'extracting' : 'downloading',
      current: ingest?.offset ?? 0,
      total: layer.size,
    });
    const options: ApplyLayerOptions = {
      mediaType: layer.mediaType,
      digest: layer.digest,
      size: layer.size,
      diffID: job.diffIDs[i] as string,
      target: dir,
      whiteouts,
    };
    if (job.signal !== undefined) options.signal = job.signal;
    await deps.applyLayer(input, options);
    if (ingest !== undefined) await ingest.commit();
    ingest = undefined;
    if (snapshotter.layersIndependent) await previous;
    try {
      await snapshotter.commit(
        chainID,
        key,
        snapshotter.layersIndependent && parent !== undefined ? { parent } : {},
      );
    } catch (err) {
      // Another pull of an image sharing this layer committed the same chain ID first: theirs is
      // the same filesystem (chain IDs are content addresses), so ours is dropped.
      if (!(err instanceof AlreadyExistsError)) throw err;
      await snapshotter.remove(key);
    }
    job.progress({ id: layer.digest, kind: 'layer', phase: 'done', current: layer.size, total: layer.size });
  } catch (err) {
    if (ingest !== undefined) {
      // Bytes cut short by the network, a stall or a cancel are kept, so the next pull resumes with
      // a Range request. Any other failure drops them: bytes that failed verification, and also a
      // layer the unpacker refused (a hostile entry: InvalidArgumentError), which was kept before
      // although resuming it can only fail the same way (test/integration/pull-hostile.test.ts).
      if (isInterruption(err)) await ingest.close();
      else await ingest.abort();
    }
    await removeIfPresent(snapshotter, key);
    throw err;
  }
}

/** A transfer cut short, whose bytes so far are worth resuming from. */
function isInterruption(err: unknown): boolean {
  return (
    err instanceof UnavailableError || err instanceof DeadlineExceededError || err instanceof CanceledError
  );
}

async function removeIfPresent(snapshotter: Snapshotter, key: string): Promise<void> {
  try {
    await snapshotter.remove(key);
  } catch (err) {
    if (!(isBerthError(err) && err instanceof NotFoundError)) throw err;
  }
}

/** The layer's bytes from the start: what an interrupted pull held, then the rest from the registry. */
async function* downloadStream(
  deps: PullDeps,
  job: LayerJob,
  layer: Descriptor,
  ingest: LayerIngest,
): AsyncGenerator<Uint8Array> {
  let current = 0;
  for await (const chunk of ingest.held()) {
    current += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  if (current === layer.size) return;
  // verify: false — the unpacker hashes every byte (held ones included) and the ingest checks again
  // at commit; the registry client's own check would see only the tail after a resume.
  const remote = await deps.registry.fetchBlob(job.host, job.repo, layer, {
    offset: current,
    verify: false,
    ...(job.signal === undefined ? {} : { signal: job.signal }),
  });
  let lastReport = 0;
  for await (const chunk of remote) {
    const bytes = chunk as Buffer;
    await ingest.write(bytes);
    current += bytes.length;
    if (current - lastReport > 256 * 1024 || current === layer.size) {
      lastReport = current;
      job.progress({ id: layer.digest, kind: 'layer', phase: 'downloading', current, total: layer.size });
    }
    yield bytes;
  }
}
