// conmon's exit file: when the container's process ends, conmon writes its status as decimal text to
// `<exit dir>/<container id>` (conmon src/conmon.c, after the main loop; g_file_set_contents writes a
// temp file and renames it, so a reader never sees half a number). A process killed by a signal is
// reported as 128 + the signal number (conmon src/utils.h get_exit_status), so SIGKILL reads 137.
//
// watchExit resolves when that file appears: fs.watch on the directory (inotify) for promptness, and
// a poll as the fallback (inotify events can be missed on some file systems, and a file written before
// the watch started raises no event). It also notices conmon dying without writing the file.

import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CanceledError, DataLossError, isErrno } from '../errdefs/index.ts';
import { isAlive } from './proc.ts';
import type { ExitResult } from './types.ts';

/** How often the watcher looks at the exit file and at conmon without an inotify event. */
export const EXIT_POLL_MS = 250;

/** The exit status in `<exitDir>/<id>`, or undefined while the file does not exist. */
export async function readExitCode(exitDir: string, id: string): Promise<number | undefined> {
  const file = join(exitDir, id);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  const code = Number(text.trim());
  if (text.trim() === '' || !Number.isInteger(code)) {
    throw new DataLossError(`exit file ${file}: not an exit status: ${JSON.stringify(text.slice(0, 50))}`);
  }
  return code;
}

export interface WatchOptions {
  signal?: AbortSignal;
  /** conmon's pid: when it is gone and no exit file exists, the result is `shim-lost`. */
  conmonPid?: number;
  pollMs?: number;
}

/** Resolves when the container `id` has exited (or its conmon has died without saying how). */
export function watchExit(exitDir: string, id: string, opts: WatchOptions = {}): Promise<ExitResult> {
  return new Promise((resolve, reject) => {
    let watcher: FSWatcher | undefined;
    let checking = false;
    let settled = false;
    const finish = (err: Error | undefined, result?: ExitResult) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      watcher?.close();
      opts.signal?.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(err);
      else resolve(result!);
    };
    const check = async () => {
      if (checking || settled) return;
      checking = true;
      try {
        // Liveness first, file second: conmon writes the file before it exits, so "gone and still
        // no file" really means it died without writing one.
        const shimGone = opts.conmonPid !== undefined && !isAlive(opts.conmonPid);
        const code = await readExitCode(exitDir, id);
        if (code !== undefined) finish(undefined, { kind: 'exited', exitCode: code });
        else if (shimGone) finish(undefined, { kind: 'shim-lost', conmonPid: opts.conmonPid! });
      } catch (err) {
        finish(err as Error);
      } finally {
        checking = false;
      }
    };
    const onAbort = () => finish(new CanceledError(`waiting for container ${id} to exit: canceled`));
    const timer = setInterval(check, opts.pollMs ?? EXIT_POLL_MS);
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      watcher = watch(exitDir, { persistent: true }, (_event, name) => {
        if (name === null || name === id) void check();
      });
      watcher.on('error', () => void check()); // the poll carries on; the next check reports real errors
    } catch (err) {
      if (!isErrno(err, 'ENOSPC') && !isErrno(err, 'EMFILE')) return finish(err as Error);
      // out of inotify watches: the poll alone will do
    }
    void check();
  });
}
