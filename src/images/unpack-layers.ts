// One image's layers into committed snapshots (design.md "Data flow: Pull"), shared by `berth pull`
// (bytes from the registry as they arrive) and `berth image import` (bytes already in the content
// store). Each layer gets its own extract snapshot, is applied by the unpacker (which verifies
// digest, size and diffID) and is committed as its chain ID; a layer whose snapshot exists is skipped.
// Layers start largest first, up to maxConcurrentDownloads at once, and a layer's slot is free
// again as soon as its bytes are in (its snapshot commit waits for the parent outside the limit).
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { AlreadyExistsError, isBerthError, NotFoundError } from '../errdefs/index.ts';
import type { Metadata } from '../metadata/index.ts';
import type { Descriptor } from '../oci/image/index.ts';
import type { Snapshotter } from '../snapshot/types.ts';
import type { ApplyLayerOptions, ApplyLayerResult } from '../unpack/types.ts';
import { createLimiter } from '../util/limiter.ts';
import { ingestUnlessStored, isInterruption, LayerDownload, storeBlobOnly } from './layer-download.ts';
import type { LayerIngest, PullContent } from './pull-content.ts';
import type { ProgressListener } from './types.ts';

export type ApplyLayer = ((input: Readable, options: ApplyLayerOptions) => Promise<ApplyLayerResult>) & {
  /** Optional: get ready for `layers` layers (the unpacker starts its worker threads). */
  warm?: (layers: number) => void;
};

/** What unpacking needs of the image service's dependencies (PullDeps has all of it). */
export interface UnpackDeps {
  content: PullContent;
  metadata: Metadata;
  snapshotter: Snapshotter;
  applyLayer: ApplyLayer;
  maxConcurrentDownloads: number;
}

/**
 * Opens a layer's bytes from `offset` at its source (the registry, for a pull). Without one, every
 * layer must already be in the content store (an import stores them before unpacking).
 */
export type FetchLayer = (
  layer: Descriptor,
  offset: number,
  signal: AbortSignal | undefined,
) => Promise<Readable>;

export interface LayerJob {
  fetch?: FetchLayer;
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

export async function unpackLayers(deps: UnpackDeps, job: LayerJob): Promise<void> {
  const { snapshotter, metadata } = deps;
  const limit = createLimiter(deps.maxConcurrentDownloads);
  deps.applyLayer.warm?.(Math.min(job.layers.length, deps.maxConcurrentDownloads));
  const committed = job.layers.map(() => deferred());
  // A layer holds its download slot until its bytes are in (applied, blob committed), not while its
  // snapshot waits for the parent's commit: a small layer that finished early must not keep the
  // next download from starting (it did: the last layer then started only when all others had
  // committed, ~0.1 s at the end of the multi-layer benchmark's pull).
  const runLayer = async (layer: Descriptor, i: number): Promise<void> => {
    const chainID = job.chain[i] as string;
    const parent = i === 0 ? undefined : (job.chain[i - 1] as string);
    const previous = i === 0 ? Promise.resolve() : (committed[i - 1] as ReturnType<typeof deferred>).promise;
    try {
      const finish = await limit(async () => {
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
          return undefined;
        }
        return await unpackOne(deps, job, layer, i, chainID, parent, previous);
      });
      await finish?.();
      await previous;
      committed[i]?.resolve();
    } catch (err) {
      committed[i]?.reject(err);
      throw err;
    }
  };
  // Overlay layers largest first: each takes its download slot (limit() is entered before
  // runLayer's first await) and then an unpack worker in this order, so the longest applies start at
  // once and the small ones fill in around them (longest-processing-time-first). In manifest order,
  // a big layer behind two smaller ones could wait for a worker and end the pull alone, ~0.2 s late
  // here. Native layers stay in manifest order: each waits in its slot for its parent, so slots
  // taken by later layers first could leave none for the parent (a deadlock).
  const order = job.layers.map((_, i) => i);
  if (snapshotter.layersIndependent) order.sort((a, b) => sizeOf(job, b) - sizeOf(job, a) || a - b);
  const tasks: Promise<void>[] = [];
  for (const i of order) tasks[i] = runLayer(job.layers[i] as Descriptor, i);
  job.layers.forEach((layer) => {
    job.progress({ id: layer.digest, kind: 'layer', phase: 'waiting', current: 0, total: layer.size });
  });
  const results = await Promise.allSettled(tasks);
  // Report the first failure that is not merely "an earlier layer failed".
  const failure = results.find((r) => r.status === 'rejected');
  if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
}

function sizeOf(job: LayerJob, i: number): number {
  return job.layers[i]?.size ?? 0;
}

async function snapshotExists(snapshotter: Snapshotter, key: string): Promise<boolean> {
  try {
    return (await snapshotter.stat(key)).kind === 'committed';
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

/**
 * Applies the layer into a new extract snapshot and commits its blob; returns the second half, run
 * outside the download limit: waiting for the parent's commit (overlay layers unpack independently)
 * and committing the snapshot as the chain ID. Either half removes the extract snapshot on failure.
 */
async function unpackOne(
  deps: UnpackDeps,
  job: LayerJob,
  layer: Descriptor,
  i: number,
  chainID: string,
  parent: string | undefined,
  previous: Promise<void>,
): Promise<() => Promise<void>> {
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
        input = new LayerDownload(job, layer, ingest);
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
    if (input instanceof LayerDownload) {
      // A download's batches are its own and untouched once passed on: moved to the worker, not
      // copied, and handed back to be filled again.
      const download = input;
      options.transferInput = true;
      options.returnInput = (buffer) => download.reuse(buffer);
    }
    if (job.signal !== undefined) options.signal = job.signal;
    await deps.applyLayer(input, options);
    if (ingest !== undefined) await ingest.commit();
    ingest = undefined;
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
  return async () => {
    try {
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
      job.progress({
        id: layer.digest,
        kind: 'layer',
        phase: 'done',
        current: layer.size,
        total: layer.size,
      });
    } catch (err) {
      await removeIfPresent(snapshotter, key);
      throw err;
    }
  };
}

async function removeIfPresent(snapshotter: Snapshotter, key: string): Promise<void> {
  try {
    await snapshotter.remove(key);
  } catch (err) {
    if (!(isBerthError(err) && err instanceof NotFoundError)) throw err;
  }
}
