import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InternalError, isErrno, NotFoundError } from '../errdefs/index.ts';
import type { Metadata, SnapshotRecord } from '../metadata/index.ts';
import type { Mount } from '../mount/types.ts';
import type { CommitOptions, PrepareOptions, SnapshotInfo, Snapshotter, SnapshotUsage } from './types.ts';
import { diskUsage } from './usage.ts';

/**
 * What the overlay and native snapshotters share: rows in the metadata DB, one directory per
 * snapshot named by the row's id (`<root>/<id>/fs`, plus `<root>/<id>/work` for overlay), and the
 * order of changes that keeps them consistent after a crash:
 *   create: row first, then directory (a failed mkdir deletes the row again);
 *   remove: row first, then the directory is renamed to `removing-<id>` and deleted.
 * A crash between the two steps leaves a directory without a row, never a row without a directory;
 * `cleanup()` deletes such orphans.
 */
export abstract class SnapshotterBase implements Snapshotter {
  abstract readonly name: string;
  abstract readonly layersIndependent: boolean;
  readonly root: string;
  protected readonly metadata: Metadata;

  constructor(root: string, metadata: Metadata) {
    this.root = root;
    this.metadata = metadata;
  }

  /** Fills the new snapshot's fs directory (native copies the parent; overlay leaves it empty). */
  protected abstract populate(record: SnapshotRecord, signal?: AbortSignal): Promise<void>;
  protected abstract mountsOf(record: SnapshotRecord): Mount[];

  protected dirOf(id: number): string {
    return join(this.root, String(id));
  }

  fsDir(id: number): string {
    return join(this.dirOf(id), 'fs');
  }

  protected record(key: string): SnapshotRecord {
    return this.metadata.snapshots.get(this.name, key);
  }

  /** The committed parents of `record`, nearest first. */
  protected parents(record: SnapshotRecord): SnapshotRecord[] {
    const chain: SnapshotRecord[] = [];
    let parent = record.parent;
    while (parent !== undefined) {
      const p = this.record(parent);
      chain.push(p);
      parent = p.parent;
    }
    return chain;
  }

  async stat(key: string): Promise<SnapshotInfo> {
    return toInfo(this.record(key));
  }

  prepare(key: string, parent?: string, options: PrepareOptions = {}): Promise<Mount[]> {
    return this.create('active', key, parent, options);
  }

  view(key: string, parent?: string, options: PrepareOptions = {}): Promise<Mount[]> {
    return this.create('view', key, parent, options);
  }

  private async create(
    kind: 'active' | 'view',
    key: string,
    parent: string | undefined,
    options: PrepareOptions,
  ): Promise<Mount[]> {
    const record = this.metadata.snapshots.create({
      snapshotter: this.name,
      key,
      kind,
      ...(parent === undefined ? {} : { parent }),
      ...(options.labels === undefined ? {} : { labels: options.labels }),
    });
    try {
      await mkdir(this.fsDir(record.id), { recursive: true, mode: 0o755 });
      await this.populate(record, options.signal);
    } catch (err) {
      this.metadata.snapshots.remove(this.name, key);
      await rm(this.dirOf(record.id), { recursive: true, force: true });
      throw err;
    }
    return this.mountsOf(record);
  }

  async mounts(key: string): Promise<Mount[]> {
    return this.mountsOf(this.record(key));
  }

  async commit(name: string, key: string, options: CommitOptions = {}): Promise<void> {
    if (options.parent !== undefined && !this.layersIndependent) {
      throw new InternalError(
        `${this.name} snapshotter: cannot set a parent at commit (layers are not independent)`,
      );
    }
    this.metadata.snapshots.commit(this.name, key, name, options);
  }

  async remove(key: string): Promise<void> {
    const record = this.metadata.snapshots.remove(this.name, key);
    await this.removeDir(record.id);
  }

  private async removeDir(id: number): Promise<void> {
    const doomed = join(this.root, `removing-${id}`);
    try {
      await rename(this.dirOf(id), doomed);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    await rm(doomed, { recursive: true, force: true });
  }

  async usage(key: string): Promise<SnapshotUsage> {
    return diskUsage(this.fsDir(this.record(key).id));
  }

  async walk(fn: (info: SnapshotInfo) => void | Promise<void>): Promise<void> {
    for (const record of this.metadata.snapshots.list(this.name)) await fn(toInfo(record));
  }

  abstract applyDir(key: string): Promise<{ dir: string; whiteouts: 'overlay' | 'apply' }>;

  /** Deletes directories that have no row (left by a crash between the two steps of create/remove). */
  async cleanup(): Promise<string[]> {
    const removed: string[] = [];
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return removed;
      throw err;
    }
    // Race handled: a snapshot created concurrently (a pull during `berth image prune`) gets its row
    // before its directory. Reading the rows *after* listing the directories means every directory
    // listed had its row committed by then; rows read first would miss it and delete a live layer.
    const known = new Set(this.metadata.snapshots.list(this.name).map((r) => String(r.id)));
    for (const name of names) {
      if (known.has(name)) continue;
      await rm(join(this.root, name), { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }

  protected activeRecord(key: string): SnapshotRecord {
    const record = this.record(key);
    if (record.kind !== 'active') {
      throw new NotFoundError(`${this.name} snapshot "${key}": is ${record.kind}, not an active snapshot`);
    }
    return record;
  }
}

function toInfo(r: SnapshotRecord): SnapshotInfo {
  return {
    name: r.key,
    ...(r.parent === undefined ? {} : { parent: r.parent }),
    kind: r.kind,
    created: r.created,
    updated: r.updated,
    labels: r.labels,
  };
}
