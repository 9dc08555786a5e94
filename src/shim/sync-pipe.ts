// conmon's sync pipe (conmon src/parent_pipe_fd.c write_sync_fd): with --api-version 1 it writes one
// JSON line `{"data": <container pid>}` once the runtime's create succeeded, or
// `{"data": -1, "message": "<runtime stderr>"}` when it failed. conmon 2.1.6 writes nothing at all
// when the runtime failed silently or the pid file is missing: it just exits, closing the pipe.

import type { Readable } from 'node:stream';
import { CanceledError, DeadlineExceededError, InternalError, UnavailableError } from '../errdefs/index.ts';

/** The longest sync message berth accepts (conmon sends at most its 8 KiB buffer, escaped). */
export const MAX_SYNC_MESSAGE = 64 * 1024;

export interface SyncMessage {
  data: number;
  message?: string;
}

export function parseSyncMessage(line: string): SyncMessage {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    throw new InternalError(`conmon sync pipe: not JSON: ${line.slice(0, 200)}`, { cause: err });
  }
  const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  if (!Number.isInteger(o.data)) {
    throw new InternalError(`conmon sync pipe: no integer "data": ${line.slice(0, 200)}`);
  }
  const out: SyncMessage = { data: o.data as number };
  if (typeof o.message === 'string') out.message = o.message;
  return out;
}

/** Reads the first line from conmon's sync pipe, within `deadlineMs`. */
export function readSyncMessage(
  stream: Readable,
  opts: { deadlineMs: number; signal?: AbortSignal; what: string },
): Promise<SyncMessage> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const done = (err: Error | undefined, msg?: SyncMessage) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      if (err !== undefined) reject(err);
      else resolve(msg!);
    };
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        try {
          done(undefined, parseSyncMessage(buf.slice(0, nl)));
        } catch (err) {
          done(err as Error);
        }
      } else if (buf.length > MAX_SYNC_MESSAGE) {
        done(new InternalError(`${opts.what}: sync message over ${MAX_SYNC_MESSAGE} bytes`));
      }
    };
    const onEnd = () =>
      done(new UnavailableError(`${opts.what}: conmon exited without reporting the container's pid`));
    const onError = (err: Error) =>
      done(new InternalError(`${opts.what}: sync pipe: ${err.message}`, { cause: err }));
    const onAbort = () => done(new CanceledError(`${opts.what}: canceled`, { cause: opts.signal?.reason }));
    const timer = setTimeout(
      () => done(new DeadlineExceededError(`${opts.what}: no pid from conmon within ${opts.deadlineMs} ms`)),
      opts.deadlineMs,
    );
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}
