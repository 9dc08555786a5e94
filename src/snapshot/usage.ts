import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SnapshotUsage } from './types.ts';

/**
 * Disk usage of one directory tree, like `du`: allocated blocks (st_blocks × 512) and inodes, each
 * hardlinked inode counted once. Synchronous: a snapshot walk is a tight loop of lstat calls, and
 * per-call promises would cost far more than the calls (design.md, data flow).
 */
export function diskUsage(dir: string): SnapshotUsage {
  const seen = new Set<bigint>();
  let size = 0;
  let inodes = 0;
  const visit = (path: string): void => {
    const st = lstatSync(path, { bigint: true });
    if (st.nlink > 1n) {
      if (seen.has(st.ino)) return;
      seen.add(st.ino);
    }
    inodes++;
    size += Number(st.blocks) * 512;
    if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(dir);
  return { size, inodes };
}
