import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { InternalError } from '../errdefs/index.ts';
import type { SnapshotRecord } from '../metadata/index.ts';
import type { Mount } from '../mount/types.ts';
import { SnapshotterBase } from './snapshotter-base.ts';

const run = promisify(execFile);

// The native snapshotter (containerd plugins/snapshots/native): every snapshot is a full copy of its
// parent, so it works on any filesystem (overlayfs cannot use some as upper, e.g. another overlay).
// Copies use GNU cp -a, with reflinks where the filesystem has them (btrfs, xfs): it keeps owners,
// modes, xattrs, hardlinks and devices, which is exactly what a snapshot copy needs.
export class NativeSnapshotter extends SnapshotterBase {
  readonly name = 'native';
  readonly layersIndependent = false;

  protected async populate(record: SnapshotRecord, signal?: AbortSignal): Promise<void> {
    if (record.parent === undefined) return;
    const parent = this.record(record.parent);
    try {
      await run('cp', ['-a', '--reflink=auto', `${this.fsDir(parent.id)}/.`, this.fsDir(record.id)], {
        signal,
      });
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr?.trim() ?? (err as Error).message;
      throw new InternalError(`native snapshot "${record.key}": copying parent "${parent.key}": ${stderr}`, {
        cause: err,
      });
    }
  }

  protected mountsOf(record: SnapshotRecord): Mount[] {
    return [
      {
        type: 'bind',
        source: this.fsDir(record.id),
        options: [record.kind === 'active' ? 'rw' : 'ro', 'rbind'],
      },
    ];
  }

  async applyDir(key: string): Promise<{ dir: string; whiteouts: 'overlay' | 'apply' }> {
    return { dir: this.fsDir(this.activeRecord(key).id), whiteouts: 'apply' };
  }
}
