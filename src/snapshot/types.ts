// The snapshotter interface, after containerd's core/snapshots/snapshotter.go: snapshots are named
// directories in a parent chain; an active snapshot is writable and can be committed into an
// immutable one that others use as parent. Callers get Mount[] (plain data), never paths to write
// into, except through `applyDir` for the unpacker.
//
//            prepare(key, parent)                commit(name, key)
//   (none) ─────────────────────▶ active(key) ─────────────────────▶ committed(name)
//            view(key, parent)                        │
//   (none) ─────────────────────▶ view(key)           │ remove(name) (no children)
//                                    │ remove(key)    ▼
//                                    └──────────▶ (none)
import type { Mount } from '../mount/types.ts';

export type SnapshotKind = 'active' | 'view' | 'committed';

export interface SnapshotInfo {
  name: string;
  parent?: string;
  kind: SnapshotKind;
  created: string;
  updated: string;
  labels: Record<string, string>;
}

export interface SnapshotUsage {
  /** Bytes used by this snapshot's own directory (not its parents). */
  size: number;
  inodes: number;
}

export interface PrepareOptions {
  labels?: Record<string, string>;
  signal?: AbortSignal;
}

export interface CommitOptions {
  labels?: Record<string, string>;
  /**
   * Sets the committed snapshot's parent now instead of at prepare time. Only for snapshotters whose
   * `layersIndependent` is true (overlay: a layer's directory holds only its own diff, with
   * whiteouts as overlay devices), so that every layer of an image unpacks at once while parents
   * are still being written. The parent must be committed when this is called.
   */
  parent?: string;
}

export interface Snapshotter {
  readonly name: string;
  /** True when a layer can be applied without its parent's content (see CommitOptions.parent). */
  readonly layersIndependent: boolean;
  stat(key: string): Promise<SnapshotInfo>;
  /** A writable snapshot on top of `parent` (committed); returns how to mount it. */
  prepare(key: string, parent?: string, options?: PrepareOptions): Promise<Mount[]>;
  /** A read-only snapshot of `parent`. */
  view(key: string, parent?: string, options?: PrepareOptions): Promise<Mount[]>;
  mounts(key: string): Promise<Mount[]>;
  commit(name: string, key: string, options?: CommitOptions): Promise<void>;
  remove(key: string): Promise<void>;
  usage(key: string): Promise<SnapshotUsage>;
  walk(fn: (info: SnapshotInfo) => void | Promise<void>): Promise<void>;
  /**
   * The directory an unpacker writes a layer into for the active snapshot `key`, and how whiteouts
   * must be written there: as overlay whiteout devices, or applied by deleting from the parent's copy.
   */
  applyDir(key: string): Promise<{ dir: string; whiteouts: 'overlay' | 'apply' }>;
  /** Deletes snapshot directories that have no row (a crash, or rows removed by the collector). */
  cleanup(): Promise<string[]>;
}
