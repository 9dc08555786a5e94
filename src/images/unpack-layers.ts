// One image's layers into committed snapshots (design.md "Data flow: Pull"), shared by `berth pull`
// (bytes from the registry as they arrive) and `berth image import` (bytes already in the content
// store). Each layer gets its own extract snapshot, is applied by the unpacker (which verifies
// digest, size and diffID) and is committed as its chain ID; a layer whose snapshot exists is skipped.
// Moved out of pull.ts unchanged but for `fetch`, which replaces the registry host/repo pair.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { AlreadyExistsError, isBerthError, NotFoundError } from '../errdefs/index.ts';
import type { Metadata } from '../metadata/index.ts';
import type { Descriptor } from '../oci/image/index.ts';
import type { Snapshotter } from '../snapshot/types.ts';
import type { ApplyLayerOptions, ApplyLayerResult } from '../unpack/types.ts';
import { createLimiter } from '../util/limiter.ts';
import { downloadStream, ingestUnlessStored, isInterruption, storeBlobOnly } from './layer-download.ts';
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

async function snapshotExists(snapshotter: Snapshotter, key: string): Promise<boolean> {
  try {
    return (await snapshotter.stat(key)).kind === 'committed';
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

async function unpackOne(
  deps: UnpackDeps,
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
        input = Readable.from(downloadStream(job, layer, ingest));
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

async function removeIfPresent(snapshotter: Snapshotter, key: string): Promise<void> {
  try {
    await snapshotter.remove(key);
  } catch (err) {
    if (!(isBerthError(err) && err instanceof NotFoundError)) throw err;
  }
}
