import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SnapshotRecord } from '../metadata/index.ts';
import type { Mount } from '../mount/types.ts';
import { SnapshotterBase } from './snapshotter-base.ts';

// The overlayfs snapshotter (containerd plugins/snapshots/overlay): each snapshot's `fs` holds only
// its own changes, with deletions as overlay whiteouts (0/0 character devices, `trusted.overlay.opaque`
// directories). So a layer is applied into an empty directory whatever its parent holds, which is
// what lets every layer of an image unpack at once (layersIndependent; CommitOptions.parent).
//
// Limit: the mount options must fit in one page (4096 bytes); with `<root>/snapshots/overlayfs/<id>/fs`
// lowerdirs of ~45 bytes that is about 90 layers, more than registries allow in practice (Docker: 127
// with short paths). Longer chains fail at mount with overlayfs's own error.
export class OverlaySnapshotter extends SnapshotterBase {
  readonly name = 'overlayfs';
  readonly layersIndependent = true;

  protected async populate(record: SnapshotRecord): Promise<void> {
    // overlayfs needs an empty work dir on the same filesystem as upperdir; views never write.
    if (record.kind === 'active') await mkdir(join(this.dirOf(record.id), 'work'), { mode: 0o700 });
  }

  protected mountsOf(record: SnapshotRecord): Mount[] {
    const lowers = this.parents(record).map((p) => this.fsDir(p.id));
    const own = this.fsDir(record.id);
    if (record.kind !== 'active') {
      // A view (or a committed snapshot mounted to look at it) is read-only: one lower is a bind,
      // several are an overlay without upper, which overlayfs mounts read-only.
      const dirs = record.kind === 'committed' ? [own, ...lowers] : lowers;
      if (dirs.length === 0) return [{ type: 'bind', source: own, options: ['ro', 'rbind'] }];
      if (dirs.length === 1) return [{ type: 'bind', source: dirs[0] as string, options: ['ro', 'rbind'] }];
      return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${dirs.join(':')}`] }];
    }
    if (lowers.length === 0) return [{ type: 'bind', source: own, options: ['rw', 'rbind'] }];
    return [
      {
        type: 'overlay',
        source: 'overlay',
        options: [
          `workdir=${join(this.dirOf(record.id), 'work')}`,
          `upperdir=${own}`,
          `lowerdir=${lowers.join(':')}`,
          // index=off: the kernel's inode index would tie upper dirs to one lower set, but the same
          // committed layer is used under many different uppers.
          'index=off',
        ],
      },
    ];
  }

  async applyDir(key: string): Promise<{ dir: string; whiteouts: 'overlay' | 'apply' }> {
    return { dir: this.fsDir(this.activeRecord(key).id), whiteouts: 'overlay' };
  }
}
