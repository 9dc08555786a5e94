// Small-file writes that are atomic and durable (design.md example 9): write a temp file in the same
// directory, fsync it, rename (or link) it into place, fsync the directory. A reader sees the old
// file or the new one, never a torn one, and a crash after we return does not lose the rename.

import { randomBytes } from 'node:crypto';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../errdefs/index.ts';

/** A unique temp path in `dir` (hidden, so that listings of the directory's content skip it). */
export function tempPath(dir: string, what: string): string {
  return join(dir, `.tmp-${what}-${randomBytes(8).toString('hex')}`);
}

/** Writes `data` to a new temp file in `dir`, fsynced; returns its path. */
async function writeTemp(dir: string, name: string, data: string): Promise<string> {
  const tmp = tempPath(dir, name);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return tmp;
}

/** Replaces (or creates) `dir/name` with `data` atomically. */
export async function replaceFile(dir: string, name: string, data: string): Promise<void> {
  const tmp = await writeTemp(dir, name, data);
  try {
    await rename(tmp, join(dir, name));
  } catch (err) {
    await removeIfPresent(tmp);
    throw err;
  }
  await syncDir(dir);
}

/**
 * Creates `dir/name` with `data` unless it exists. link() fails with EEXIST when the name is taken,
 * so of two concurrent creators exactly one places its file, and neither can replace a file that
 * someone filled in the meantime (a stat-then-rename could). Returns whether this call created it.
 */
export async function createIfAbsent(dir: string, name: string, data: string): Promise<boolean> {
  if (await exists(join(dir, name))) return false;
  const tmp = await writeTemp(dir, name, data);
  try {
    await link(tmp, join(dir, name));
    await syncDir(dir);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  } finally {
    await removeIfPresent(tmp);
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

export async function removeIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
}

/** fsync a directory so that a rename into it survives a crash (rename alone is not durable). */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
