// The target directory as this apply sees it, and the checks that keep every write inside it
// (CVE-2021-32760 class; containerd archive/tar.go and continuity/fs resolve names inside the root,
// berth refuses instead). Node has no openat/O_BENEATH, so every call takes a full path, and that is
// safe because of one invariant: before anything is created, changed or deleted at `root/rel`, each
// directory on the way has been lstat'ed and found to be a real directory, not a symlink; the final
// component is never followed (O_NOFOLLOW|O_EXCL, lchown, lutimes, unlink, `setfattr -h`).
// Directories this apply created or verified are cached, so a 50,000-file layer costs one lstat
// per directory, not per component per file; replacing or deleting a directory forgets it and
// everything below it. The cache holds because the caller guarantees that nothing else writes to
// the target during the apply (it is a fresh snapshot directory that no container uses yet).

import { type BigIntStats, lstatSync, mkdirSync, rmSync, type Stats, unlinkSync } from 'node:fs';
import { isErrno } from '../errdefs/index.ts';
import { parentOf, refuse } from './entry-path.ts';

export type Times = [atime: number, mtime: number];

export class TargetTree {
  readonly root: string;
  /** Relative paths known to be real directories ('' is the root). */
  readonly #dirs = new Set<string>(['']);
  /** Relative paths this layer wrote: opaque markers and whiteouts affect only the layers below. */
  readonly applied = new Set<string>();
  /** Directory times, set at the end: creating entries inside a directory changes its mtime. */
  readonly dirTimes = new Map<string, Times>();

  constructor(root: string) {
    this.root = root;
  }

  abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  lstat(rel: string): Stats | undefined {
    return lstatSync(this.abs(rel), { throwIfNoEntry: false });
  }

  /**
   * Checks that `dir` and every directory above it are real directories. Missing ones are created
   * (mode 0755, as containerd's mkparent) when `create`, else the answer is false. A symlink or a
   * non-directory on the way is refused with a message naming `entryName`.
   */
  ensureDir(entryName: string, dir: string, create: boolean): boolean {
    if (this.#dirs.has(dir)) return true;
    const parts = dir.split('/');
    let cur = '';
    for (const part of parts) {
      cur = cur === '' ? part : `${cur}/${part}`;
      if (this.#dirs.has(cur)) continue;
      const st = this.lstat(cur);
      if (st === undefined) {
        if (!create) return false;
        mkdirSync(this.abs(cur), 0o755);
      } else if (st.isSymbolicLink()) {
        throw refuse(
          entryName,
          `${JSON.stringify(cur)} on its path is a symlink, which the layer may not write through`,
        );
      } else if (!st.isDirectory()) {
        throw refuse(entryName, `${JSON.stringify(cur)} on its path is not a directory`);
      }
      this.#dirs.add(cur);
    }
    return true;
  }

  /** ensureDir for the directory that holds `rel`. */
  ensureParent(entryName: string, rel: string, create: boolean): boolean {
    return this.ensureDir(entryName, parentOf(rel), create);
  }

  /** Records that `rel` is now a real directory created or kept by this apply. */
  markDir(rel: string): void {
    this.#dirs.add(rel);
  }

  /** Deletes whatever is at `rel` (recursively for a directory; symlinks are removed, not followed). */
  remove(rel: string, st: Stats | BigIntStats): void {
    if (st.isDirectory()) {
      // rmSync never follows symlinks inside the tree it deletes (it lstats each entry).
      rmSync(this.abs(rel), { recursive: true });
      this.#forget(rel);
    } else {
      unlinkSync(this.abs(rel));
    }
  }

  /**
   * Runs `create` (an exclusive create at `rel`: open O_EXCL, mkdir, symlink, link); if something is
   * already there (a lower layer's entry, or an earlier entry of this layer), deletes it and retries
   * once. Existing files are thus replaced, never written into: another name may share their inode.
   */
  replace<T>(rel: string, create: () => T): T {
    try {
      return create();
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      const st = this.lstat(rel);
      if (st !== undefined) this.remove(rel, st);
      return create();
    }
  }

  #forget(rel: string): void {
    const below = `${rel}/`;
    for (const set of [this.#dirs, this.dirTimes]) {
      set.delete(rel);
      for (const key of set.keys()) if (key.startsWith(below)) set.delete(key);
    }
  }
}
