// The mark phase of the garbage collector, as a pure function over plain data (containerd
// pkg/gc: a tricolor walk from roots along references). Nodes are blobs (by digest) and snapshots
// (by key); edges are the GC labels pulls write (gc-labels.ts) and snapshot parents.
import { gcRefContent, gcRefSnapshot } from './gc-labels.ts';

/** containerd's label making a blob or snapshot a root by itself (a person's "keep this"). */
export const gcRoot = 'containerd.io/gc.root';

export interface GcGraph {
  /** Digests held directly: image targets, leased blobs. */
  rootBlobs: Iterable<string>;
  /** Snapshot keys held directly: leased snapshots, views and (later) containers' snapshots. */
  rootSnapshots: Iterable<string>;
  /** Each blob's labels (only `containerd.io/gc.ref.*` ones matter). */
  blobLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Each snapshot's parent. */
  snapshotParents: ReadonlyMap<string, string | undefined>;
  /** The snapshotter whose `gc.ref.snapshot.<name>` labels count. */
  snapshotter: string;
}

export interface Marked {
  blobs: Set<string>;
  snapshots: Set<string>;
}

export function markReachable(graph: GcGraph): Marked {
  const blobs = new Set<string>();
  const snapshots = new Set<string>();
  const blobQueue = [...graph.rootBlobs];
  const snapshotQueue = [...graph.rootSnapshots];
  const snapshotLabel = `${gcRefSnapshot}.${graph.snapshotter}`;
  while (blobQueue.length > 0 || snapshotQueue.length > 0) {
    const digest = blobQueue.pop();
    if (digest !== undefined && !blobs.has(digest)) {
      blobs.add(digest);
      for (const [key, value] of Object.entries(graph.blobLabels.get(digest) ?? {})) {
        if (key.startsWith(`${gcRefContent}.`) || key === gcRefContent) blobQueue.push(value);
        else if (key === snapshotLabel || key.startsWith(`${snapshotLabel}.`)) snapshotQueue.push(value);
      }
    }
    const key = snapshotQueue.pop();
    if (key !== undefined && !snapshots.has(key)) {
      snapshots.add(key);
      const parent = graph.snapshotParents.get(key);
      if (parent !== undefined) snapshotQueue.push(parent);
    }
  }
  return { blobs, snapshots };
}

/** Removal order for snapshots: a snapshot only after every child of it in the set. */
export function leavesFirst(
  keys: Iterable<string>,
  parents: ReadonlyMap<string, string | undefined>,
): string[] {
  const doomed = new Set(keys);
  const children = new Map<string, number>();
  for (const key of doomed) {
    const parent = parents.get(key);
    if (parent !== undefined && doomed.has(parent)) children.set(parent, (children.get(parent) ?? 0) + 1);
  }
  const order: string[] = [];
  const ready = [...doomed].filter((k) => (children.get(k) ?? 0) === 0);
  while (ready.length > 0) {
    const key = ready.pop() as string;
    order.push(key);
    const parent = parents.get(key);
    if (parent !== undefined && doomed.has(parent)) {
      const left = (children.get(parent) ?? 1) - 1;
      children.set(parent, left);
      if (left === 0) ready.push(parent);
    }
  }
  return order;
}

/**
 * The snapshot keys a lease's `snapshot` resource protects. leases.ts documents the id as
 * `<snapshotter>/<key>`, while pulls lease the bare key (chain IDs, `extract-…`); keys may contain
 * '/' themselves. A collector errs on the side of keeping: both readings are protected.
 */
export function leasedSnapshotKeys(resourceID: string, snapshotter: string): string[] {
  const prefix = `${snapshotter}/`;
  return resourceID.startsWith(prefix) ? [resourceID, resourceID.slice(prefix.length)] : [resourceID];
}
