// The garbage collector: `berth image prune` and, later, the daemon's background collection.
//
// Roots: image records' targets, unexpired leases' resources (a pull leases everything it reads or
// writes before touching it), views and active snapshots other than a pull's `extract-*` ones.
// Edges: the GC labels on blobs and snapshot parents (gc-mark.ts). What is not reached is swept.
//
// Race handled — a pull running during a collection: the whole decision (expire leases, read
// roots, mark, list blobs and snapshots, take the unreached ones out of sight) happens inside one
// `BEGIN IMMEDIATE` metadata transaction, which holds SQLite's write lock, so a pull's next
// `leases.addResource` waits until the collection has decided. A pull that leased a blob before
// the transaction keeps it; one that leases it after finds it gone and fetches it again, because
// it leases *before* it checks whether the blob is there. Unreached blobs are renamed into a trash
// directory inside the transaction (a rename is atomic and synchronous), so no reader can find one
// that is about to be deleted; the slow deletion happens after the commit.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isErrno } from '../errdefs/index.ts';
import type { Metadata } from '../metadata/index.ts';
import type { Snapshotter } from '../snapshot/types.ts';
import { leavesFirst, markReachable } from './gc-mark.ts';

export interface GcStore {
  /** The content store's directory (`<root>/content`), an OCI layout with `blobs/sha256`. */
  readonly dir: string;
  blobPath(digest: string): string;
}

export interface GcDeps {
  metadata: Metadata;
  content: GcStore;
  snapshotter: Snapshotter;
}

export interface GcResult {
  blobsRemoved: { digest: string; size: number }[];
  snapshotsRemoved: string[];
  leasesExpired: string[];
  bytesFreed: number;
}

/** Active snapshots a pull makes to unpack into; they live only as long as the pull's lease. */
const extractPrefix = 'extract-';

export async function collectGarbage(deps: GcDeps, options: { dryRun?: boolean } = {}): Promise<GcResult> {
  const { metadata, content, snapshotter } = deps;
  const dryRun = options.dryRun === true;
  const trash = join(content.dir, `.trash-gc-${randomBytes(6).toString('hex')}`);
  const result: GcResult = { blobsRemoved: [], snapshotsRemoved: [], leasesExpired: [], bytesFreed: 0 };

  metadata.transaction(() => {
    const now = new Date();
    for (const lease of metadata.leases.expired(now)) {
      result.leasesExpired.push(lease.id);
      if (!dryRun) metadata.leases.delete(lease.id);
    }
    const expired = new Set(result.leasesExpired);
    const rootBlobs: string[] = metadata.images.list().map((i) => i.target.digest);
    const rootSnapshots: string[] = [];
    for (const lease of metadata.leases.list()) {
      if (expired.has(lease.id)) continue;
      for (const r of metadata.leases.resources(lease.id)) {
        if (r.type === 'content') rootBlobs.push(r.id);
        else if (r.type === 'snapshot') rootSnapshots.push(r.id);
        else if (r.type === 'image') {
          const held = metadata.images.list({ namePrefix: r.id }).find((i) => i.name === r.id);
          if (held !== undefined) rootBlobs.push(held.target.digest);
        }
      }
    }
    const records = metadata.snapshots.list(snapshotter.name);
    const parents = new Map(records.map((r) => [r.key, r.parent] as const));
    for (const r of records) {
      if (r.kind === 'view' || (r.kind === 'active' && !r.key.startsWith(extractPrefix)))
        rootSnapshots.push(r.key);
    }
    const blobLabels = new Map(metadata.content.list().map((c) => [c.digest, c.labels] as const));
    const marked = markReachable({
      rootBlobs,
      rootSnapshots,
      blobLabels,
      snapshotParents: parents,
      snapshotter: snapshotter.name,
    });

    for (const digest of storedBlobs(content)) {
      if (marked.blobs.has(digest)) continue;
      const path = content.blobPath(digest);
      const size = statSync(path).size;
      result.blobsRemoved.push({ digest, size });
      result.bytesFreed += size;
      if (dryRun) continue;
      mkdirSync(trash, { recursive: true });
      renameSync(path, join(trash, digest.slice('sha256:'.length)));
      metadata.content.delete(digest);
    }
    const unreached = records.filter((r) => !marked.snapshots.has(r.key)).map((r) => r.key);
    for (const key of leavesFirst(unreached, parents)) {
      result.snapshotsRemoved.push(key);
      // The row goes now; its directory, then without a row, goes in cleanup() after the commit.
      if (!dryRun) metadata.snapshots.remove(snapshotter.name, key);
    }
  });

  if (!dryRun) {
    rmSync(trash, { recursive: true, force: true });
    await snapshotter.cleanup();
  }
  return result;
}

/** Digests of the sha256 blobs on disk (the only algorithm a pull writes). */
function storedBlobs(content: GcStore): string[] {
  try {
    return readdirSync(join(content.dir, 'blobs', 'sha256'))
      .filter((name) => /^[0-9a-f]{64}$/.test(name))
      .map((hex) => `sha256:${hex}`);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}
