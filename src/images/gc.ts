// The garbage collector: `berth image prune`, `berth system prune` and, later, the daemon's
// background collection (containerd core/metadata/gc.go + pkg/gc: tricolor mark, then sweep).
//
// Roots: image records' targets; unexpired leases' resources (blobs, snapshots, images); views and
// active snapshots (a container's rootfs) other than a pull's `extract-*` ones, which live only as
// long as the pull's lease; anything labelled `containerd.io/gc.root`; and what `deps.roots` adds
// (containers, when they exist). Edges: the GC labels on blobs and snapshot parents (gc-mark.ts).
// Swept: blobs and committed snapshots nothing reaches (children before parents), label rows of
// blobs that are gone, then stale partial ingests, dead processes' temp files and orphan snapshot
// directories; index.json is brought in step with the image table.
//
// Race handled — a pull (in this process or another) running during a collection: the whole
// decision (expire leases, read roots, mark, list blobs and snapshots, take the unreached ones out
// of sight) happens inside one `BEGIN IMMEDIATE` metadata transaction, which holds SQLite's write
// lock, so a pull's next `leases.addResource` waits until the collection has decided. A pull leases
// everything *before* it checks whether it is there (pull.ts, unpack-layers.ts): one that leased a
// blob or snapshot before the transaction keeps it; one that leases it after finds it gone and
// fetches or unpacks it again. Unreached blobs are renamed into a trash directory inside the
// transaction (rename is atomic and synchronous), so no reader can find a blob about to be deleted;
// snapshot rows go inside it too, and their directories, then rowless, after it (cleanup()).
// If the transaction fails half-way, the blobs already moved into the trash stay there (they were
// unreached anyway) and a later collection removes the trash as a leftover.
// A pull's lease expires after pullLeaseLifetimeMs: a pull slower than that loses its protection.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isErrno, NotFoundError } from '../errdefs/index.ts';
import type { Image, Metadata } from '../metadata/index.ts';
import type { Snapshotter } from '../snapshot/types.ts';
import { type GcContent, sweepIngests, sweepLeftovers, syncImageIndex } from './gc-files.ts';
import { gcRoot, leasedSnapshotKeys, leavesFirst, markReachable } from './gc-mark.ts';

export type { GcContent } from './gc-files.ts';

/** More roots, read inside the collection's transaction (containers' images and snapshots, later). */
export type GcRootSource = () => { blobs?: Iterable<string>; snapshots?: Iterable<string> };

export interface GcDeps {
  metadata: Metadata;
  content: GcContent;
  snapshotter: Snapshotter;
  roots?: GcRootSource;
}

/** A partial download is worth resuming for a day after its last byte arrived. */
export const staleIngestMs = 24 * 60 * 60 * 1000;
/** A temp file a live writer has not touched for an hour belongs to a dead one (stalls end in 60 s). */
export const staleTempMs = 60 * 60 * 1000;

export interface GcOptions {
  /** Decide and report, remove nothing (expired leases are only treated as gone). */
  dryRun?: boolean;
  /** Images to remove first (docker `image prune -a`: those no container uses), unless leased. */
  pruneImages?: (image: Image) => boolean;
  staleIngestMs?: number;
  staleTempMs?: number;
}

export interface GcResult {
  imagesRemoved: string[];
  blobsRemoved: { digest: string; size: number }[];
  /** Snapshot keys (chain IDs for image layers). */
  snapshotsRemoved: string[];
  /** Refs of the partial ingests removed. */
  ingestsRemoved: string[];
  /** Paths of dead processes' temp files and trash directories removed. */
  leftoversRemoved: string[];
  leasesExpired: string[];
  /** Blob, snapshot (disk usage measured before), ingest and leftover bytes. */
  bytesFreed: number;
}

/** Active snapshots a pull makes to unpack into; they live only as long as the pull's lease. */
const extractPrefix = 'extract-';

export async function collectGarbage(deps: GcDeps, options: GcOptions = {}): Promise<GcResult> {
  const { metadata, content, snapshotter } = deps;
  const dryRun = options.dryRun === true;
  // Snapshot sizes cannot be measured inside the transaction (a disk walk holding the write lock);
  // a read-only pass finds the likely candidates first, and their sizes count if they do go.
  const sizes = new Map<string, number>();
  for (const key of decide(deps, options, { dryRun: true }).snapshotsRemoved) {
    sizes.set(key, await usageIfPresent(snapshotter, key));
  }
  const trash = join(content.dir, `.trash-gc-${randomBytes(6).toString('hex')}`);
  const decision = metadata.transaction(() => decide(deps, options, { dryRun, trash }));
  if (!dryRun) {
    rmSync(trash, { recursive: true, force: true });
    await snapshotter.cleanup();
    await syncImageIndex(content, metadata);
  }
  const ingests = await sweepIngests(
    content,
    (digest) => decision.marked.has(digest),
    options.staleIngestMs ?? staleIngestMs,
    dryRun,
  );
  const leftovers = sweepLeftovers(content, options.staleTempMs ?? staleTempMs, dryRun);
  const { imagesRemoved, blobsRemoved, snapshotsRemoved, leasesExpired } = decision;
  const sum = (xs: { size: number }[]) => xs.reduce((n, x) => n + x.size, 0);
  return {
    imagesRemoved,
    blobsRemoved,
    snapshotsRemoved,
    ingestsRemoved: ingests.names,
    leftoversRemoved: leftovers.names,
    leasesExpired,
    bytesFreed:
      sum(blobsRemoved) +
      snapshotsRemoved.reduce((n, k) => n + (sizes.get(k) ?? 0), 0) +
      ingests.bytes +
      leftovers.bytes,
  };
}

type Decision = Pick<GcResult, 'imagesRemoved' | 'blobsRemoved' | 'snapshotsRemoved' | 'leasesExpired'> & {
  /** Blobs kept: what a partial ingest of the same digest is kept for. */
  marked: Set<string>;
};

/** Mark and (unless dry) sweep metadata and blobs; synchronous, to run inside one transaction. */
function decide(deps: GcDeps, options: GcOptions, how: { dryRun: boolean; trash?: string }): Decision {
  const { metadata, content, snapshotter } = deps;
  const trash = how.dryRun ? undefined : how.trash;
  const dryRun = trash === undefined;
  const d: Decision = {
    imagesRemoved: [],
    blobsRemoved: [],
    snapshotsRemoved: [],
    leasesExpired: [],
    marked: new Set(),
  };
  for (const lease of metadata.leases.expired()) {
    d.leasesExpired.push(lease.id);
    if (!dryRun) metadata.leases.delete(lease.id);
  }
  const expired = new Set(d.leasesExpired);
  const rootBlobs: string[] = [];
  const rootSnapshots: string[] = [];
  const leasedImages = new Set<string>();
  for (const lease of metadata.leases.list()) {
    if (expired.has(lease.id)) continue;
    for (const r of metadata.leases.resources(lease.id)) {
      if (r.type === 'content') rootBlobs.push(r.id);
      else if (r.type === 'snapshot') rootSnapshots.push(...leasedSnapshotKeys(r.id, snapshotter.name));
      else leasedImages.add(r.id);
    }
  }
  for (const image of metadata.images.list()) {
    if (!leasedImages.has(image.name) && options.pruneImages?.(image) === true) {
      d.imagesRemoved.push(image.name);
      if (!dryRun) metadata.images.delete(image.name);
    } else {
      rootBlobs.push(image.target.digest);
    }
  }
  const records = metadata.snapshots.list(snapshotter.name);
  const parents = new Map(records.map((r) => [r.key, r.parent] as const));
  for (const r of records) {
    const live = r.kind === 'view' || (r.kind === 'active' && !r.key.startsWith(extractPrefix));
    if (live || r.labels[gcRoot] !== undefined) rootSnapshots.push(r.key);
  }
  const blobLabels = new Map(metadata.content.list().map((c) => [c.digest, c.labels] as const));
  for (const [digest, labels] of blobLabels) if (labels[gcRoot] !== undefined) rootBlobs.push(digest);
  const extra = deps.roots?.() ?? {};
  rootBlobs.push(...(extra.blobs ?? []));
  rootSnapshots.push(...(extra.snapshots ?? []));
  const marked = markReachable({
    rootBlobs,
    rootSnapshots,
    blobLabels,
    snapshotParents: parents,
    snapshotter: snapshotter.name,
  });
  d.marked = marked.blobs;

  const stored = storedBlobs(content);
  for (const digest of stored) {
    if (marked.blobs.has(digest)) continue;
    const path = content.blobPath(digest);
    const size = sizeIfPresent(path);
    if (size === undefined) continue; // deleted by hand since the listing
    d.blobsRemoved.push({ digest, size });
    if (trash === undefined) continue;
    mkdirSync(trash, { recursive: true });
    renameSync(path, join(trash, digest.slice('sha256:'.length)));
    metadata.content.delete(digest);
  }
  if (!dryRun) {
    // Label rows of blobs no longer stored (deleted by hand, or by a collection that died after
    // its commit) would keep what they name alive forever.
    const present = new Set(stored);
    for (const digest of blobLabels.keys())
      if (!present.has(digest) && !marked.blobs.has(digest)) metadata.content.delete(digest);
  }
  const unreached = records.filter((r) => !marked.snapshots.has(r.key)).map((r) => r.key);
  for (const key of leavesFirst(unreached, parents)) {
    d.snapshotsRemoved.push(key);
    // The row goes now; its directory, then without a row, goes in cleanup() after the commit.
    if (!dryRun) metadata.snapshots.remove(snapshotter.name, key);
  }
  return d;
}

async function usageIfPresent(snapshotter: Snapshotter, key: string): Promise<number> {
  try {
    return (await snapshotter.usage(key)).size;
  } catch (err) {
    // Removed since the preview (by another collection, or a pull's own cleanup).
    if (err instanceof NotFoundError || isErrno(err, 'ENOENT')) return 0;
    throw err;
  }
}

function sizeIfPresent(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** Digests of the sha256 blobs on disk (the only algorithm a pull writes). */
function storedBlobs(content: GcContent): string[] {
  try {
    return readdirSync(join(content.dir, 'blobs', 'sha256'))
      .filter((name) => /^[0-9a-f]{64}$/.test(name))
      .map((hex) => `sha256:${hex}`);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}
