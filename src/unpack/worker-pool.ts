// The unpack worker threads of this process, reused from layer to layer. Starting a worker costs
// ~50 ms of CPU with the compile cache and ~150 ms without (Node boot, TypeScript stripping,
// module loading): paid once per worker, not once per layer, and early (`warm`, called when a pull
// starts) so that it overlaps the pull's resolve and manifest fetches. At most one worker per core:
// each keeps one core busy, and more only add memory (~30 MB each) and contention.

import module from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** An idle worker is stopped after this long (a daemon should not hold their memory for nothing). */
const idleTimeoutMs = 10_000;

/**
 * V8's young generation per worker: the default (up to 16 MB semi-spaces) is sized for the throughput
 * of allocation-heavy code; a worker allocates little per entry (headers, names), and this cap took
 * 5–7 MB off each worker's peak RSS (bench/pull.ts) with no measurable change in time.
 */
const maxYoungGenerationSizeMb = 4;

// From the sources, worker.ts beside this file; in the bundle (scripts/build.ts) every chunk sits
// flat in dist/ with the worker's own entry, worker.mjs.
const workerURL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.mjs', import.meta.url)
  .href;

/**
 * The worker's entry: plain JavaScript, so that nothing needs TypeScript stripping before the
 * compile cache is on (a worker does not inherit the main thread's module.enableCompileCache()).
 */
function bootstrap(): string {
  const cacheDir = module.getCompileCacheDir?.();
  const enable =
    cacheDir === undefined ? '' : `require('node:module').enableCompileCache(${JSON.stringify(cacheDir)});`;
  return `${enable}import(${JSON.stringify(workerURL)});`;
}

export class WorkerPool {
  readonly #size: number;
  readonly #idle: Worker[] = [];
  readonly #timers = new Map<Worker, NodeJS.Timeout>();
  readonly #waiters: ((worker: Worker) => void)[] = [];
  /** Workers alive: idle, busy or still starting. */
  #count = 0;

  constructor(size: number = availableParallelism()) {
    this.#size = Math.max(1, size);
  }

  /** Starts workers for `layers` layers to come (up to the pool's size), unless already there. */
  warm(layers: number): void {
    while (this.#count < Math.min(layers, this.#size)) this.#makeIdle(this.#spawn());
  }

  /** A worker for one layer: idle, new, or the next one released (abortable while waiting). */
  acquire(signal: AbortSignal | undefined): Promise<Worker> {
    const idle = this.#idle.pop();
    if (idle !== undefined) return Promise.resolve(this.#take(idle));
    if (this.#count < this.#size) return Promise.resolve(this.#take(this.#spawn()));
    return new Promise((resolve, reject) => {
      const waiter = (worker: Worker): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.#take(worker));
      };
      const onAbort = (): void => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /**
   * Gives a worker back after its layer: a worker whose layer succeeded is idle and reused; any
   * other is terminated (resolves once its thread is gone: no write of its layer happens later).
   */
  async release(worker: Worker, reusable: boolean): Promise<void> {
    if (reusable) {
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) waiter(worker);
      else this.#makeIdle(worker);
      return;
    }
    this.#count--;
    // A waiter gets a fresh worker in its place.
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(this.#spawn());
    await worker.terminate();
  }

  #spawn(): Worker {
    const worker = new Worker(bootstrap(), {
      eval: true,
      resourceLimits: { maxYoungGenerationSizeMb },
    });
    this.#count++;
    // An idle worker that fails or exits is dropped; a busy one is the job's to report (apply-layer.ts).
    worker.on('error', () => undefined);
    worker.once('exit', () => {
      const at = this.#idle.indexOf(worker);
      if (at >= 0) {
        this.#idle.splice(at, 1);
        this.#clearTimer(worker);
        this.#count--;
      }
    });
    return worker;
  }

  #take(worker: Worker): Worker {
    this.#clearTimer(worker);
    worker.ref();
    return worker;
  }

  #makeIdle(worker: Worker): void {
    // Idle workers never keep the process alive.
    worker.unref();
    this.#idle.push(worker);
    const timer = setTimeout(() => {
      const at = this.#idle.indexOf(worker);
      if (at < 0) return;
      this.#idle.splice(at, 1);
      this.#timers.delete(worker);
      this.#count--;
      void worker.terminate();
    }, idleTimeoutMs);
    timer.unref();
    this.#timers.set(worker, timer);
  }

  #clearTimer(worker: Worker): void {
    const timer = this.#timers.get(worker);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(worker);
  }
}
