// The per-ingest lock: one writer per ref, across the processes sharing a store (a pull in the CLI
// and one in the daemon, or two concurrent pulls of images sharing a layer). Without it, two writers
// appending to the same data file would interleave their bytes and both hashes would be wrong.
//
// It is an O_EXCL lock file `<ingest dir>/lock` (lock-file.ts) holding the owner's pid and start
// time. An ingest may legitimately be held for minutes (a large layer on a slow link), so age says
// nothing: the lock is stale when its owner process is dead (`process.kill(pid, 0)` → ESRCH) or its
// pid now belongs to a later process (another start time). A SIGKILLed puller's lock is therefore
// broken by the next writer at once.
//
// Race handled: the lock lives inside the ingest directory, and commit/abort delete the directory by
// renaming it away (ingest-files.ts). A waiter that tries to create the lock just then gets ENOENT
// rather than EEXIST (from open, or from mkdir); it recreates the directory and tries again, as for a
// brand-new ingest.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CanceledError, isErrno, UnavailableError } from '../errdefs/index.ts';
import { breakIfStale, ownerGone, readOwner, releaseLock, tryCreateLock } from './lock-file.ts';

/** A lock file without an owner line older than this was left by a creator that died right after creating it. */
export const ingestLockEmptyStaleMs = 10_000;

const isStale = ownerGone(ingestLockEmptyStaleMs);

export interface IngestLock {
  readonly path: string;
  /** Removes the lock file if it is still ours; a no-op after the directory was deleted. */
  release(): Promise<void>;
}

export function ingestLockPath(ingestDir: string): string {
  return join(ingestDir, 'lock');
}

/**
 * Takes the lock of the ingest in `ingestDir` (creating the directory), waiting up to `waitMs`
 * while a live writer holds it; then UnavailableError naming that writer's pid.
 */
export async function lockIngest(
  ingestDir: string,
  ref: string,
  options: { signal?: AbortSignal | undefined; waitMs?: number | undefined } = {},
): Promise<IngestLock> {
  const { signal, waitMs = 0 } = options;
  const path = ingestLockPath(ingestDir);
  const deadline = Date.now() + waitMs;
  let delay = 5;
  for (;;) {
    if (signal?.aborted) throw canceled(ref, signal);
    let ino: number | undefined;
    try {
      await mkdir(ingestDir, { recursive: true, mode: 0o755 });
      ino = await tryCreateLock(path);
    } catch (err) {
      // The directory was renamed away by a committer or aborter between our mkdir and open (or
      // inside mkdir itself, which on EEXIST stats the path to check that it is a directory).
      if (isErrno(err, 'ENOENT')) continue;
      throw err;
    }
    if (ino !== undefined) return { path, release: () => releaseLock(path, ino) };
    if (await breakIfStale(path, isStale)) continue;
    if (Date.now() >= deadline) {
      const owner = await readOwner(path);
      const who = owner ? `pid ${owner.pid}` : 'another writer';
      throw new UnavailableError(`ingest ${JSON.stringify(ref)}: locked by ${who}`, {
        hint: 'another pull is writing this blob; retry when it has finished',
      });
    }
    try {
      // Jitter, so that waiting processes do not retry in lockstep.
      await sleep(delay * (0.5 + Math.random()), undefined, { signal });
    } catch (err) {
      if (signal?.aborted) throw canceled(ref, signal);
      throw err;
    }
    delay = Math.min(delay * 2, 100);
  }
}

function canceled(ref: string, signal: AbortSignal): CanceledError {
  return new CanceledError(`waiting for the lock of ingest ${JSON.stringify(ref)}: canceled`, {
    cause: signal.reason,
  });
}
