// A foreground container's or exec session's input side: with -i, berth's stdin goes to the process
// through conmon's attach socket (shim/attach.ts); with -t and a terminal on berth's side, that
// terminal is put in raw mode (keys, ^C included, go to the process's pty, as with docker) and its size
// is passed on through conmon's ctl FIFO on every SIGWINCH (and at once, unless the process started
// with it). `stop()` undoes all of it; it runs when the process has exited.

import type { Container, ContainerPaths } from '../containers/index.ts';
import { shortId } from '../containers/index.ts';
import { NotFoundError, UnavailableError } from '../errdefs/index.ts';
import { attachSocketPath, attachStdin, ctlFifoPath, resizeTerminal } from '../shim/index.ts';
import { reportError } from './report-error.ts';

/** Where the input goes and how. */
export interface InputTarget {
  /** Put berth's terminal, when stdin is one, in raw mode. */
  raw: boolean;
  /** conmon's control FIFO: berth's terminal size, when stdout is one, goes there on SIGWINCH. */
  ctlPath?: string;
  /** With `ctlPath`: send the size at once as well (default true). */
  resizeNow?: boolean;
  /** With `ctlPath`: say nothing when a resize finds conmon gone (the process has ended). */
  quietWhenGone?: boolean;
  /** conmon's attach socket: berth's stdin goes there. */
  attachSocket?: string;
  /** With `attachSocket`: settle `connected` once the connection stands (an exec's --exec-attach). */
  waitForConnection?: boolean;
}

export interface ContainerInput {
  /**
   * Resolves once berth's stdin is connected to the attach socket (at once without `attachSocket` or
   * `waitForConnection`); rejects when the attach failed or ended before that.
   */
  connected: Promise<void>;
  stop(): void;
}

/** A foreground container's input: raw mode and sizes with -t, its attach socket with -i. */
export function containerInputTarget(c: Container, paths: ContainerPaths): InputTarget {
  const tty = c.request.tty === true;
  return {
    raw: tty,
    ...(tty ? { ctlPath: ctlFifoPath(paths.bundle) } : {}),
    ...(c.request.stdin === true ? { attachSocket: attachSocketPath(paths.socketDir, shortId(c.id)) } : {}),
  };
}

export function connectInput(target: InputTarget): ContainerInput {
  const controller = new AbortController();
  const undo: (() => void)[] = [() => controller.abort()];
  if (target.raw && process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    undo.push(() => process.stdin.setRawMode(false));
  }
  const ctl = target.ctlPath;
  if (ctl !== undefined && process.stdout.isTTY) {
    const resize = () => {
      resizeTerminal(ctl, process.stdout.rows, process.stdout.columns, { signal: controller.signal }).catch(
        (err: unknown) => {
          if (controller.signal.aborted) return;
          const gone = err instanceof UnavailableError || err instanceof NotFoundError;
          if (!(gone && target.quietWhenGone === true)) reportError(err);
        },
      );
    };
    if (target.resizeNow !== false) resize();
    process.on('SIGWINCH', resize);
    undo.push(() => process.off('SIGWINCH', resize));
  }
  let connected = Promise.resolve();
  const socket = target.attachSocket;
  if (socket !== undefined) {
    const wait = target.waitForConnection === true;
    let isConnected = !wait;
    let settle: { resolve: () => void; reject: (err: unknown) => void } | undefined;
    if (wait) {
      connected = new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      });
      connected.catch(() => undefined); // the caller may have stopped waiting; no unhandled rejection
    }
    attachStdin(socket, process.stdin, {
      signal: controller.signal,
      ...(wait
        ? {
            onConnected: () => {
              isConnected = true;
              settle?.resolve();
            },
          }
        : {}),
    }).then(
      () => {
        if (!isConnected)
          settle?.reject(new UnavailableError(`attach to ${socket}: ended before it connected`));
      },
      (err: unknown) => {
        if (!isConnected) settle?.reject(err);
        else if (!controller.signal.aborted) reportError(err);
      },
    );
    // The attach holds berth's stdin open; once the process is gone nothing more is read.
    undo.push(() => process.stdin.destroy());
  }
  return {
    connected,
    stop() {
      for (const fn of undo.reverse()) fn();
    },
  };
}
