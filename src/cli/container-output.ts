// A foreground container's output on berth's stdout and stderr: its CRI log followed from the start
// until conmon's exit file says the container is done (conmon drains the output into the log before
// it writes that file, so nothing is lost at the end).

import type { Container } from '../containers/index.ts';
import { readLog } from '../shim/cri-log-reader.ts';
import { writeLog } from '../shim/cri-log-render.ts';

export async function followContainer(
  c: Container,
  exited: Promise<unknown>,
  signal?: AbortSignal,
): Promise<void> {
  const records = readLog(c.logPath, {
    follow: true,
    until: exited.catch(() => undefined), // the caller awaits `exited` itself and reports its error
    ...(signal === undefined ? {} : { signal }),
  });
  await writeLog(records, { stdout: process.stdout, stderr: process.stderr });
}
