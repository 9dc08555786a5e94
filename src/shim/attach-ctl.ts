// conmon's control FIFO: window resizes (`-t`) and log reopening. conmon 2.1.6 (src/ctrl.c
// setup_terminal_control_fifo, setup_fifo) makes `<bundle>/ctl` for every container and reads lines
// `<type> <height> <width>\n` from it: type 1 (WIN_RESIZE_EVENT) passes `<height> <width>\n` on to a
// second FIFO, `<bundle>/winsz`, whose reader sets the pty size with TIOCSWINSZ (only once the runtime
// has handed conmon the console, so a resize sent before that waits); type 2 (REOPEN_LOGS_EVENT)
// reopens the log file (the two numbers are read and ignored). src/config.h has both numbers.
//
// conmon holds a writer of its own on the FIFO, so an O_WRONLY|O_NONBLOCK open succeeds while conmon
// lives and fails with ENXIO once it is gone (fifo(7)): a resize never blocks on a dead container.
//
// Two conmon 2.1.6 bugs shape the message. read_from_ctrl_buffer hands every complete line of one
// read() to the handler as the *start* of its buffer, so two messages read at once apply the first
// twice and lose the second; each message is therefore padded to exactly the 199 bytes one read takes
// (CTLBUFSZ 200 - 1), so one read never holds two. The winsz FIFO has the same bug and conmon writes
// it, so resizes to one container are also spaced RESIZE_MIN_GAP_MS apart, and a size superseded
// while waiting is skipped: the last size asked for is the one that lands.

import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CanceledError,
  InvalidArgumentError,
  isErrno,
  NotFoundError,
  UnavailableError,
} from '../errdefs/index.ts';

/** The bytes conmon's read() of the ctl FIFO takes at once (src/ctrl.c CTLBUFSZ - 1). */
export const CTL_MESSAGE_BYTES = 199;
/** The least time between two resizes of one container, so conmon's winsz reader sees one at a time. */
export const RESIZE_MIN_GAP_MS = 25;

const WIN_RESIZE_EVENT = 1;
const REOPEN_LOGS_EVENT = 2;

/** conmon's control FIFO of the container whose bundle is `bundle`. */
export function ctlFifoPath(bundle: string): string {
  return join(bundle, 'ctl');
}

interface Slot {
  seq: number;
  lastWrite: number;
  chain: Promise<void>;
}
const slots = new Map<string, Slot>();

/** Sets the container's terminal to `rows` × `cols` (conmon started with `terminal: true`). */
export async function resizeTerminal(
  ctlPath: string,
  rows: number,
  cols: number,
  opts: { signal?: AbortSignal } = {},
): Promise<void> {
  for (const [name, v] of [
    ['rows', rows],
    ['cols', cols],
  ] as const) {
    // struct winsize holds unsigned shorts; 0 would tell programs "size unknown".
    if (!Number.isInteger(v) || v < 1 || v > 0xffff) {
      throw new InvalidArgumentError(`terminal size: ${name} must be a whole number in 1..65535, not ${v}`);
    }
  }
  let slot = slots.get(ctlPath);
  if (slot === undefined) {
    slot = { seq: 0, lastWrite: 0, chain: Promise.resolve() };
    slots.set(ctlPath, slot);
  }
  const s = slot;
  const mine = ++s.seq;
  const run = s.chain.then(async () => {
    if (mine !== s.seq) return; // a newer size came while this one waited
    const gap = RESIZE_MIN_GAP_MS - (Date.now() - s.lastWrite);
    if (gap > 0) await sleepOrCancel(gap, opts.signal, ctlPath);
    if (mine !== s.seq) return;
    await sendCtl(ctlPath, WIN_RESIZE_EVENT, rows, cols);
    s.lastWrite = Date.now();
  });
  // The chain only orders the writes; each caller gets its own outcome from `run`.
  s.chain = run.then(
    () => undefined,
    () => undefined,
  );
  try {
    await run;
  } finally {
    // Forget the container once nothing newer is queued and the gap has passed.
    if (mine === s.seq) {
      setTimeout(() => {
        if (mine === s.seq) slots.delete(ctlPath);
      }, RESIZE_MIN_GAP_MS).unref();
    }
  }
}

/** Makes conmon reopen the container's log: a new empty file is renamed over the log path. */
export async function reopenContainerLog(ctlPath: string): Promise<void> {
  await sendCtl(ctlPath, REOPEN_LOGS_EVENT, 0, 0);
}

/** Writes one ctl message, padded to CTL_MESSAGE_BYTES, without ever blocking. */
async function sendCtl(ctlPath: string, type: number, a: number, b: number): Promise<void> {
  const msg = Buffer.from(`${`${type} ${a} ${b}`.padEnd(CTL_MESSAGE_BYTES - 1, ' ')}\n`, 'latin1');
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(ctlPath, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    if (isErrno(err, 'ENXIO')) {
      throw new UnavailableError(`conmon control fifo ${ctlPath}: no reader (conmon has exited)`, {
        cause: err,
      });
    }
    if (isErrno(err, 'ENOENT')) {
      throw new NotFoundError(`conmon control fifo ${ctlPath}: no such file`, { cause: err });
    }
    throw err;
  }
  try {
    // A write of at most PIPE_BUF bytes to a FIFO is atomic: all of it or, when full, EAGAIN.
    await fh.write(msg);
  } catch (err) {
    if (isErrno(err, 'EAGAIN')) {
      throw new UnavailableError(`conmon control fifo ${ctlPath}: full (conmon is not reading it)`, {
        cause: err,
      });
    }
    throw err;
  } finally {
    await fh.close();
  }
}

async function sleepOrCancel(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  try {
    await sleep(ms, undefined, signal === undefined ? {} : { signal });
  } catch (err) {
    if (signal?.aborted) throw new CanceledError(`resize of ${what}: canceled`, { cause: err });
    throw err;
  }
}
