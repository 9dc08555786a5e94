// Exclusive lock files shared by the index lock (index-lock.ts) and the per-ingest locks
// (ingest-lock.ts). A lock is a file created with O_CREAT|O_EXCL ('wx'): that works across processes
// and on any local filesystem (flock is not reachable from Node without a native module). The file
// holds its owner, `<pid> <starttime>`, so a person (and the pid staleness rule) can see who holds it.
//
// What makes a lock abandoned differs per user, so it is a parameter (`StaleRule`): the index lock
// goes by age, an ingest lock by whether its owner process is still alive.
//
// Race handled when breaking a stale lock: waiters A and B both see the same stale lock; A removes it
// and takes a fresh one; B, acting on its old observation, would remove A's fresh lock. So breaking is
// itself done under a second O_EXCL file (`<lock>.break`), and the breaker re-checks staleness inside
// it: a fresh lock is never removed. The break section is two syscalls long; should a breaker die in
// it, its `.break` file is stale by the same rule and is simply removed.

import { open, readFile, stat } from 'node:fs/promises';
import { isErrno } from '../errdefs/index.ts';
import { removeIfPresent } from './atomic-file.ts';

/** Decides whether the lock file at `path` was left by a writer that is gone. */
export type StaleRule = (path: string) => Promise<boolean>;

export interface LockOwner {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a reused pid from the original process. */
  startTime: string | undefined;
}

/** Creates the lock file exclusively; its inode, or undefined when someone else holds it. */
export async function tryCreateLock(path: string): Promise<number | undefined> {
  try {
    const fh = await open(path, 'wx', 0o644);
    try {
      await fh.writeFile(`${process.pid} ${(await processStartTime(process.pid)) ?? '-'}\n`);
      return (await fh.stat()).ino;
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return undefined;
    throw err;
  }
}

/** Removes the lock at `lockPath` when `isStale` says so, under the break lock. Returns whether it did. */
export async function breakIfStale(lockPath: string, isStale: StaleRule): Promise<boolean> {
  if (!(await isStale(lockPath))) return false;
  const breakPath = `${lockPath}.break`;
  if ((await tryCreateLock(breakPath)) === undefined) {
    if (await isStale(breakPath)) await removeIfPresent(breakPath);
    return false;
  }
  try {
    // Re-check under the break lock: the lock may have been broken and retaken since we looked.
    if (!(await isStale(lockPath))) return false;
    await removeIfPresent(lockPath);
    return true;
  } finally {
    await removeIfPresent(breakPath);
  }
}

/** Removes the lock file only when it is still the one we created (inode `ino`). */
export async function releaseLock(lockPath: string, ino: number): Promise<void> {
  // If our lock was judged stale and broken, another writer may now hold its own lock file under the
  // same name: removing that would let a third writer in beside it.
  try {
    if ((await stat(lockPath)).ino !== ino) return;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  await removeIfPresent(lockPath);
}

/** Age of a file in ms, or undefined when it does not exist. */
export async function ageOf(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** The age rule: a lock older than `staleMs` is abandoned (its holder only needs milliseconds). */
export function olderThan(staleMs: number): StaleRule {
  return async (path) => {
    const age = await ageOf(path);
    return age !== undefined && age >= staleMs;
  };
}

/** The owner written in a lock file; undefined when absent, null when it has no owner line yet. */
export async function readOwner(path: string): Promise<LockOwner | null | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  const m = /^(\d+)(?: (\d+|-))?\n/.exec(text);
  if (!m) return null;
  return { pid: Number(m[1]), startTime: m[2] === undefined || m[2] === '-' ? undefined : m[2] };
}

/**
 * The pid rule: a lock whose owner process has exited is abandoned. A file without an owner line is
 * being written right now (create, then write) unless it is older than `emptyStaleMs`, which means
 * its creator died between the two calls.
 */
export function ownerGone(emptyStaleMs: number): StaleRule {
  return async (path) => {
    const owner = await readOwner(path);
    if (owner === undefined) return false;
    if (owner === null) return olderThan(emptyStaleMs)(path);
    return !(await isAlive(owner));
  };
}

/** Whether the process that wrote `owner` still runs (and is not a later process given the same pid). */
export async function isAlive(owner: LockOwner): Promise<boolean> {
  // kill(0, 0) or kill(-n, 0) would probe a whole process group: only a real pid is asked about.
  if (!Number.isSafeInteger(owner.pid) || owner.pid <= 0) return false;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if (isErrno(err, 'ESRCH')) return false;
    // EPERM: the process exists but belongs to another user.
    if (!isErrno(err, 'EPERM')) throw err;
  }
  // Pids are reused: a different start time means the owner died and another process got its pid.
  if (owner.startTime === undefined) return true;
  const now = await processStartTime(owner.pid);
  return now === undefined || now === owner.startTime;
}

/** Start time of a process in clock ticks since boot (proc(5) stat field 22), or undefined. */
async function processStartTime(pid: number): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ESRCH')) return undefined;
    throw err;
  }
  // The command name (field 2) is in parentheses and may contain spaces: count from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}
