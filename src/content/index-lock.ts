// The exclusive lock that serialises writers of an OCI layout's index.json. index.json is a
// read-modify-write document: without the lock, two writers tagging different images at the same time
// would each read the old index and the second rename would drop the first one's entry.
//
// The lock is an O_EXCL lock file (lock-file.ts, which also explains how breaking a stale lock is made
// race-free). A writer that crashes leaves the file behind, so a lock older than `lockStaleMs` counts
// as abandoned: a writer holds it for a read, a small write, an fsync and a rename, i.e. milliseconds.
// (Age, not the owner's pid, so that a lock copied from another machine or pid namespace still expires.)

import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CanceledError, DeadlineExceededError } from '../errdefs/index.ts';
import { breakIfStale, olderThan, releaseLock, tryCreateLock } from './lock-file.ts';

/** A lock file older than this was left by a writer that died. */
export const lockStaleMs = 30_000;
/** How long a writer waits for the lock before giving up (longer than lockStaleMs, so stale locks get broken). */
export const lockWaitMs = 60_000;

// Writers in this process queue here first, so that they take turns without polling the file.
// The queue is only an optimisation: the lock file alone provides the mutual exclusion, so a
// writer that leaves the queue early (canceled) cannot let two writers in at once.
const queues = new Map<string, Promise<void>>();

const isStale = olderThan(lockStaleMs);

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
      await releaseLock(lockPath, ino);
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
    const ino = await tryCreateLock(lockPath);
    if (ino !== undefined) return ino;
    if (await breakIfStale(lockPath, isStale)) continue;
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
