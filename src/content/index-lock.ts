// The exclusive lock that serialises writers of an OCI layout's index.json. index.json is a
// read-modify-write document: without the lock, two writers tagging different images at the same time
// would each read the old index and the second rename would drop the first one's entry.
//
// The lock is a file created with O_CREAT|O_EXCL ('wx'), which works across processes and on any
// local filesystem (flock is not reachable from Node without a native module). A writer that crashes
// leaves the file behind, so a lock older than `lockStaleMs` counts as abandoned: a writer holds it
// for a read, a small write, an fsync and a rename, i.e. milliseconds.
//
// Race handled when breaking a stale lock: waiters A and B both see the same stale lock; A removes it
// and takes a fresh one; B, acting on its old observation, would remove A's fresh lock. So breaking is
// itself done under a second O_EXCL file (`<lock>.break`), and the breaker re-checks the age inside
// it: a fresh lock is never removed. The break section is two syscalls long; should a breaker die in
// it, its `.break` file is stale by the same rule and is simply removed.

import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CanceledError, DeadlineExceededError, isErrno } from '../errdefs/index.ts';
import { removeIfPresent } from './atomic-file.ts';

/** A lock file older than this was left by a writer that died. */
export const lockStaleMs = 30_000;
/** How long a writer waits for the lock before giving up (longer than lockStaleMs, so stale locks get broken). */
export const lockWaitMs = 60_000;

// Writers in this process queue here first, so that they take turns without polling the file.
// The queue is only an optimisation: the lock file alone provides the mutual exclusion, so a
// writer that leaves the queue early (canceled) cannot let two writers in at once.
const queues = new Map<string, Promise<void>>();

/** Runs `fn` while holding the exclusive lock file at `lockPath`. */
export async function withIndexLock<T>(
  lockPath: string,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const key = resolve(lockPath);
  const previous = queues.get(key) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => {
    done = r;
  });
  queues.set(key, mine);
  try {
    await untilAborted(previous, signal, lockPath);
    const ino = await acquire(lockPath, signal);
    try {
      return await fn();
    } finally {
      await release(lockPath, ino);
    }
  } finally {
    done();
    if (queues.get(key) === mine) queues.delete(key);
  }
}

/** Waits for `turn`, or rejects with CanceledError as soon as `signal` aborts. */
async function untilAborted(
  turn: Promise<void>,
  signal: AbortSignal | undefined,
  lockPath: string,
): Promise<void> {
  if (!signal) return turn;
  const cancel = (): CanceledError =>
    new CanceledError(`waiting for ${lockPath}: canceled`, { cause: signal.reason });
  if (signal.aborted) throw cancel();
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      turn,
      new Promise<never>((_, reject) => {
        onAbort = () => reject(cancel());
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** Takes the lock and returns the inode of the lock file, to recognise it at release. */
async function acquire(lockPath: string, signal: AbortSignal | undefined): Promise<number> {
  const deadline = Date.now() + lockWaitMs;
  let delay = 2;
  for (;;) {
    if (signal?.aborted)
      throw new CanceledError(`waiting for ${lockPath}: canceled`, { cause: signal.reason });
    const ino = await tryCreate(lockPath);
    if (ino !== undefined) return ino;
    await breakIfStale(lockPath);
    if (Date.now() > deadline) {
      throw new DeadlineExceededError(`${lockPath}: still held by another writer after ${lockWaitMs} ms`, {
        hint: `remove ${lockPath} if no berth process is writing to this layout`,
      });
    }
    try {
      // Jitter, so that waiting processes do not retry in lockstep.
      await sleep(delay * (0.5 + Math.random()), undefined, { signal });
    } catch (err) {
      if (signal?.aborted) throw new CanceledError(`waiting for ${lockPath}: canceled`, { cause: err });
      throw err;
    }
    delay = Math.min(delay * 2, 25);
  }
}

/** Creates the file exclusively; its inode, or undefined when someone else holds it. */
async function tryCreate(path: string): Promise<number | undefined> {
  try {
    const fh = await open(path, 'wx', 0o644);
    try {
      // The pid is for a person looking at a stuck lock; the logic only uses the file's age.
      await fh.writeFile(`${process.pid}\n`);
      return (await fh.stat()).ino;
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return undefined;
    throw err;
  }
}

/** Age of a file in ms, or undefined when it does not exist. */
async function ageOf(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

async function breakIfStale(lockPath: string): Promise<void> {
  const age = await ageOf(lockPath);
  if (age === undefined || age < lockStaleMs) return;
  const breakPath = `${lockPath}.break`;
  if ((await tryCreate(breakPath)) === undefined) {
    const breakAge = await ageOf(breakPath);
    if (breakAge !== undefined && breakAge >= lockStaleMs) await removeIfPresent(breakPath);
    return;
  }
  try {
    // Re-check under the break lock: the lock may have been broken and retaken since we looked.
    const again = await ageOf(lockPath);
    if (again !== undefined && again >= lockStaleMs) await removeIfPresent(lockPath);
  } finally {
    await removeIfPresent(breakPath);
  }
}

async function release(lockPath: string, ino: number): Promise<void> {
  // If we held the lock past lockStaleMs, another writer may have broken it and now hold its own
  // lock file under the same name: remove the file only when it is still ours.
  try {
    if ((await stat(lockPath)).ino !== ino) return;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  await removeIfPresent(lockPath);
}
