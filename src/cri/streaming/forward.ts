// Copying between a local stream (a pipe, a log follower, socat) and a SPDY stream without letting
// either side's failure become an unhandled error or a stuck peer: when the destination breaks (the
// client reset its stream) the source is drained and dropped, so a process writing to it never blocks
// on a full pipe; when the source ends, or is cut, the destination is ended (a FIN, not a reset).

import type { Readable, Writable } from 'node:stream';

/**
 * Copies `src` to `dst` and, unless `end` is false, ends `dst` when `src` is done; resolves then.
 * Never rejects.
 */
export function forward(src: Readable, dst: Writable, opts: { end?: boolean } = {}): Promise<void> {
  return new Promise((resolve) => {
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      if (opts.end !== false && !dst.destroyed && !dst.writableEnded) dst.end();
      resolve();
    };
    const drop = () => {
      src.unpipe(dst);
      src.resume();
    };
    dst.on('error', drop);
    dst.once('close', () => {
      if (!dst.writableFinished) drop();
    });
    src.on('error', done); // 'close' follows; what was read has been passed on
    src.once('end', done);
    src.once('close', done);
    src.pipe(dst, { end: false });
  });
}

/** Reads and drops everything `src` delivers (a stream nobody needs must not stall the session). */
export function discard(src: Readable): void {
  src.on('error', () => src.destroy());
  src.resume();
}
