// Disk usage of the image filesystem for ImageFsInfo (api.proto FilesystemUsage: used_bytes "the
// space on the filesystem used by images", inodes_used likewise). The kubelet's image garbage
// collection compares these with the filesystem's capacity and removes images until they drop, so
// they must be measured, not guessed.
//
// Measured like containerd's snapshot usage and `du`: allocated blocks and inodes under the
// snapshotter's directory, each hard-linked inode once, not crossing into other filesystems. GNU du
// does the walk in its own process: a snapshot directory can hold hundreds of thousands of files,
// and a walk on berthd's event loop would stall every other RPC meanwhile. The kubelet asks every
// few seconds; one measurement serves all callers for USAGE_MAX_AGE_MS.

import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { CanceledError, DeadlineExceededError, isErrno, UnavailableError } from '../errdefs/index.ts';

export interface FsUsage {
  bytes: number;
  inodes: number;
  /** When it was measured (ms since the epoch). */
  at: number;
}

/** How long one measurement is reported before the tree is walked again. */
export const USAGE_MAX_AGE_MS = 5_000;
/** A walk that takes longer is abandoned (a hung filesystem must not pile up du processes). */
export const USAGE_DEADLINE_MS = 120_000;

/** Runs `du -s -x <args> dir` and returns the total it prints. */
function du(dir: string, args: string[], signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('du', ['-s', '-x', ...args, '--', dir], { signal, encoding: 'utf8' }, (err, stdout, stderr) => {
      // Files deleted during the walk (a pull or GC at work) make du exit 1 after printing the
      // total of what it saw: that total is the answer.
      const total = /^(\d+)\s/.exec(stdout)?.[1];
      if (total !== undefined && (err === null || err.code === 1)) return resolve(Number(total));
      if (signal.aborted) {
        const timedOut = (signal.reason as Error | undefined)?.name === 'TimeoutError';
        const E = timedOut ? DeadlineExceededError : CanceledError;
        return reject(
          new E(`du ${dir}: ${timedOut ? 'took too long' : 'canceled'}`, { cause: signal.reason }),
        );
      }
      reject(new UnavailableError(`du ${dir} failed: ${stderr.trim() || err?.message}`, { cause: err }));
    });
  });
}

/** Bytes and inodes used under `dir`; zero when it does not exist yet (nothing pulled). */
export async function measureUsage(dir: string, signal: AbortSignal): Promise<FsUsage> {
  const at = Date.now();
  try {
    await stat(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { bytes: 0, inodes: 0, at };
    throw err;
  }
  const [bytes, inodes] = await Promise.all([du(dir, ['-B1'], signal), du(dir, ['--inodes'], signal)]);
  return { bytes, inodes, at };
}

/** Waits for `p` unless `signal` aborts first (the work behind `p` goes on for other callers). */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  const canceled = () => new CanceledError('the call was canceled', { cause: signal.reason });
  if (signal.aborted) return Promise.reject(canceled());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(canceled());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * One measurement shared by concurrent callers and reused while younger than `maxAgeMs`, unless the
 * images changed since (`invalidate`): crictl asks ImageFsInfo on every connection, so a
 * measurement from before a pull would otherwise be what the pull's caller sees next.
 */
export class UsageCache {
  readonly #measure: (signal: AbortSignal) => Promise<FsUsage>;
  readonly #maxAgeMs: number;
  /** Bumped by `invalidate`: a measurement started before counts for nothing after it. */
  #generation = 0;
  #last: { usage: FsUsage; generation: number } | undefined;
  #running: { promise: Promise<FsUsage>; generation: number } | undefined;

  constructor(measure: (signal: AbortSignal) => Promise<FsUsage>, maxAgeMs = USAGE_MAX_AGE_MS) {
    this.#measure = measure;
    this.#maxAgeMs = maxAgeMs;
  }

  /** The images changed: the next `get` measures anew. */
  invalidate(): void {
    this.#generation++;
  }

  get(signal?: AbortSignal): Promise<FsUsage> {
    const generation = this.#generation;
    const last = this.#last;
    if (last?.generation === generation && Date.now() - last.usage.at < this.#maxAgeMs) {
      return Promise.resolve(last.usage);
    }
    if (this.#running?.generation !== generation) {
      // Not tied to one caller's signal: a caller giving up must not fail the others waiting.
      const promise = this.#measure(AbortSignal.timeout(USAGE_DEADLINE_MS)).then((usage) => {
        if (this.#last === undefined || this.#last.generation <= generation)
          this.#last = { usage, generation };
        return usage;
      });
      const running = { promise, generation };
      this.#running = running;
      const done = () => {
        if (this.#running === running) this.#running = undefined;
      };
      promise.then(done, done);
    }
    return abortable((this.#running as { promise: Promise<FsUsage> }).promise, signal);
  }
}
