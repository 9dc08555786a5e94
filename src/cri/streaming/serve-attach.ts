// Attach's streams, to a running container's own stdio as conmon holds it:
//   stdin  ─▶ conmon's attach socket (shim/attach.ts), only for a container created with stdin
//   stdout, stderr ◀─ the container's CRI log, followed from its current end (what the container
//            writes from now on; the kubelet's `kubectl logs` serves the past); with a tty the
//            terminal's output is all on stdout, as conmon logs it
//   resize ─▶ conmon's control FIFO (shim/attach-ctl.ts), for a container with a tty
// The attach ends when the container exits (conmon's exit file; conmon has written all output to the
// log before it), then reports success, as the kubelet's ServeAttach does; or when the client leaves.

import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { type ContainerService, containerPaths, shortId } from '../../containers/index.ts';
import { mustBeRunning } from '../../containers/status.ts';
import {
  attachSocketPath,
  attachStdin,
  CriLogRenderer,
  ctlFifoPath,
  readLog,
  resizeTerminal,
  watchExit,
} from '../../shim/index.ts';
import type { CommandRunner } from './command-session.ts';
import { discard } from './forward.ts';
import { terminalSizes } from './remote-command.ts';
import type { AttachStreamingRequest } from './types.ts';

export function attachRunner(
  containers: ContainerService,
  req: AttachStreamingRequest,
  log: (line: string) => void,
): CommandRunner {
  return async (streams, signal) => {
    const c = await containers.get(req.containerId);
    mustBeRunning(c, 'attach');
    const paths = containerPaths(containers.deps.dirs, c.id);
    const tty = c.request.tty === true;
    const done = new AbortController();
    const stop = AbortSignal.any([signal, done.signal]);
    const what = `attach to ${c.id}`;
    try {
      const exited = watchExit(paths.exitDir, c.id, {
        signal: stop,
        ...(c.conmonPid === undefined ? {} : { conmonPid: c.conmonPid }),
      });
      exited.catch(() => undefined); // awaited through readLog's `until`; an abort is not a failure
      if (streams.stdin !== undefined) {
        if (c.request.stdin === true) {
          attachStdin(attachSocketPath(paths.socketDir, shortId(c.id)), streams.stdin, {
            signal: stop,
          }).catch((err: unknown) => {
            if (!stop.aborted) log(`${what}: stdin: ${(err as Error).message}`);
          });
        } else {
          discard(streams.stdin); // created without stdin: there is nothing to write to
        }
      }
      if (streams.resize !== undefined) {
        const resize = streams.resize;
        void (async () => {
          for await (const size of terminalSizes(resize)) {
            if (!tty || stop.aborted) continue;
            await resizeTerminal(ctlFifoPath(paths.bundle), size.height, size.width, { signal: stop }).catch(
              (err: unknown) => {
                if (!stop.aborted) log(`${what}: resize: ${(err as Error).message}`);
              },
            );
          }
        })().catch(() => undefined); // the stream was reset: resizes simply stop
      }
      const records = readLog(c.logPath, { tail: 0, follow: true, until: exited, signal: stop });
      const renderer = new CriLogRenderer();
      for await (const rec of records) {
        const dest: Writable | undefined = rec.stream === 'stderr' && !tty ? streams.stderr : streams.stdout;
        if (dest === undefined || dest.destroyed || dest.writableEnded) continue;
        if (!dest.write(renderer.render(rec))) await drained(dest, stop);
      }
      return { kind: 'success' };
    } finally {
      done.abort();
    }
  };
}

/** Waits until `dest` drains, closes, or `stop` aborts. */
async function drained(dest: Writable, stop: AbortSignal): Promise<void> {
  const settle = new AbortController();
  const signal = AbortSignal.any([settle.signal, stop]);
  try {
    await Promise.race([once(dest, 'drain', { signal }), once(dest, 'close', { signal })]);
  } catch (err) {
    // AbortError when `stop` aborted; the stream's own error: it is destroyed, the loop skips it.
    if (!(err instanceof Error)) throw err;
  } finally {
    settle.abort();
  }
}
