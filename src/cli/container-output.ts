// A foreground container's output on berth's stdout and stderr: its CRI log followed from the start
// until conmon's exit file says the container is done (conmon drains the output into the log before
// it writes that file, so nothing is lost at the end). An exec session's log is followed the same way.

import type { Container } from '../containers/index.ts';
import { readLog } from '../shim/cri-log-reader.ts';
import { writeLog } from '../shim/cri-log-render.ts';

export function followContainer(c: Container, exited: Promise<unknown>, signal?: AbortSignal): Promise<void> {
  return followLog(c.logPath, exited, signal);
}

/** Prints the CRI log at `logPath` as conmon writes it, until `done` settles and the log is read. */
export async function followLog(
  logPath: string,
  done: Promise<unknown>,
  signal?: AbortSignal,
): Promise<void> {
  const records = readLog(logPath, {
    follow: true,
    until: done.catch(() => undefined), // the caller awaits `done` itself and reports its error
    ...(signal === undefined ? {} : { signal }),
  });
  await writeLog(records, { stdout: process.stdout, stderr: process.stderr });
}
