// What `readLog` needs to follow a log conmon is still writing: a wake-up when the file changes, the
// writer's "done" signal, and noticing that the file was replaced.
//
// Wake-ups: fs.watch on the log's directory (inotify), not on the file, because conmon replaces the
// file: ReopenContainerLog (ctl message 2) and --log-size-max both call reopen_k8s_file (conmon
// src/ctr_logging.c), which creates `<log>.tmp` with O_TRUNC and renames it over `<log>`; a watch on
// the file would keep watching the old inode. A poll backs the watch up (inotify events can be
// missed, and there may be no inotify watches left).

import { type FSWatcher, type Stats, watch } from 'node:fs';
import { type FileHandle, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { isErrno } from '../errdefs/index.ts';

/** How often a follower looks at the log without an inotify event. */
export const LOG_POLL_MS = 250;

/**
 * When the writer is done: a promise (for instance `watchExit(…)`) that settles once the container
 * exited, or a function asked at each wake-up. conmon drains the container's output into the log and
 * fsyncs it before it writes the exit file (conmon src/conmon.c: drain_stdio, sync_logs, then the
 * exit file), so once the exit file exists the log is complete.
 */
export type WriterDone = Promise<unknown> | (() => boolean | Promise<boolean>);

/** What happened to the file at `path` since `fh` was opened on it. */
export type FileChange = 'same' | 'replaced' | 'truncated' | 'missing';

export async function fileChange(path: string, fh: FileHandle, offset: number): Promise<FileChange> {
  let now: Stats;
  try {
    now = await stat(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 'missing';
    throw err;
  }
  const held = await fh.stat();
  if (now.ino !== held.ino || now.dev !== held.dev) return 'replaced';
  // Truncated in place (copytruncate by an outside tool): start again from the beginning.
  return held.size < offset ? 'truncated' : 'same';
}

/** Sleeps until the log's directory reports a change to the log, `pollMs` passes, or the follow ends. */
export class LogWatch {
  readonly #signal: AbortSignal | undefined;
  #watcher: FSWatcher | undefined;
  #changed = true; // a change before the first wait must not be missed
  #wake: (() => void) | undefined;
  #done = false;
  #doneError: { error: unknown } | undefined;
  readonly #until: (() => boolean | Promise<boolean>) | undefined;

  constructor(path: string, opts: { signal?: AbortSignal; until?: WriterDone }) {
    this.#signal = opts.signal;
    const { until } = opts;
    if (typeof until === 'function') this.#until = until;
    else if (until !== undefined) {
      until.then(
        () => this.#finish(undefined),
        (error: unknown) => this.#finish({ error }),
      );
    }
    const names = new Set([basename(path), `${basename(path)}.tmp`]);
    try {
      // Not persistent: an abandoned follower must not keep the process alive; a wait's timer does.
      this.#watcher = watch(dirname(path), { persistent: false }, (_event, name) => {
        if (name === null || names.has(name)) this.#notify();
      });
      this.#watcher.on('error', () => this.#notify()); // the poll carries on; reads report real errors
    } catch (err) {
      if (!isErrno(err, 'ENOSPC') && !isErrno(err, 'EMFILE') && !isErrno(err, 'ENOENT')) throw err;
      // no inotify watch to be had (or no directory yet): the poll alone will do
    }
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** True once the writer is done; throws what the `until` promise was rejected with. */
  async writerDone(): Promise<boolean> {
    if (this.#doneError !== undefined) throw this.#doneError.error;
    if (this.#done) return true;
    return this.#until === undefined ? false : await this.#until();
  }

  /** Resolves at the next change, after `pollMs`, when the writer is done, or on abort. */
  wait(pollMs: number): Promise<void> {
    if (this.#changed || this.#done || this.#signal?.aborted) {
      this.#changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#notify(), pollMs);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        this.#changed = false;
        resolve();
      };
    });
  }

  close(): void {
    this.#watcher?.close();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#wake?.();
  }

  readonly #onAbort = () => this.#notify();

  #finish(error: { error: unknown } | undefined): void {
    this.#done = true;
    this.#doneError = error;
    this.#notify();
  }

  #notify(): void {
    this.#changed = true;
    this.#wake?.();
  }
}
