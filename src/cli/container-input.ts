// A foreground container's input side: with -i, berth's stdin goes to the container through conmon's
// attach socket (shim/attach.ts); with -t and a terminal on berth's side, that terminal is put in raw
// mode (keys, ^C included, go to the container's pty, as with docker) and its size is passed on now
// and on every SIGWINCH. `stop()` undoes all of it; it runs when the container has exited.

import type { Container, ContainerPaths } from '../containers/index.ts';
import { shortId } from '../containers/index.ts';
import { attachSocketPath, attachStdin, ctlFifoPath, resizeTerminal } from '../shim/index.ts';
import { reportError } from './report-error.ts';

export interface ContainerInput {
  stop(): void;
}

export function connectInput(c: Container, paths: ContainerPaths): ContainerInput {
  const controller = new AbortController();
  const undo: (() => void)[] = [() => controller.abort()];
  const tty = c.request.tty === true;
  if (tty && process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    undo.push(() => process.stdin.setRawMode(false));
  }
  if (tty && process.stdout.isTTY) {
    const ctl = ctlFifoPath(paths.bundle);
    const resize = () => {
      resizeTerminal(ctl, process.stdout.rows, process.stdout.columns, { signal: controller.signal }).catch(
        (err: unknown) => {
          if (!controller.signal.aborted) reportError(err);
        },
      );
    };
    resize();
    process.on('SIGWINCH', resize);
    undo.push(() => process.off('SIGWINCH', resize));
  }
  if (c.request.stdin === true) {
    attachStdin(attachSocketPath(paths.socketDir, shortId(c.id)), process.stdin, {
      signal: controller.signal,
    }).catch((err: unknown) => {
      if (!controller.signal.aborted) reportError(err);
    });
    // The attach holds berth's stdin open; once the container is gone nothing more is read.
    undo.push(() => process.stdin.destroy());
  }
  return {
    stop() {
      for (const fn of undo.reverse()) fn();
    },
  };
}
