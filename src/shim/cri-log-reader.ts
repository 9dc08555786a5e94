// Reads a container's CRI log (conmon `-l k8s-file:PATH`) as records, for `berth logs [-f] [--tail N]
// [--since T]` and for the foreground `berth run`, which prints the container's output by following
// its log. Memory stays bounded: one read buffer, one incomplete line, never the whole file; `tail`
// reads backwards from the end (cri-log-tail.ts).
//
// With `follow`, the reader sleeps at the end of the file until conmon appends (cri-log-follow.ts),
// follows the file across conmon's reopen (a new file renamed over the path: the old one is drained
// first, then the new one read from its start), and ends when the writer is done and the file is read
// to its end, or when `signal` aborts (then the iteration simply ends: a follow runs until stopped).

import { type FileHandle, open } from 'node:fs/promises';
import { isErrno, NotFoundError } from '../errdefs/index.ts';
import { sinceToNanos, timeToNanos } from './cri-log.ts';
import { CriLogDecoder } from './cri-log-decoder.ts';
import { fileChange, LOG_POLL_MS, LogWatch, type WriterDone } from './cri-log-follow.ts';
import { findTail, inTail, type TailWindow } from './cri-log-tail.ts';
import type { CriLogRecord } from './types.ts';

/** The size of each forward read. */
export const LOG_READ_CHUNK_BYTES = 64 * 1024;

export interface ReadLogOptions {
  /** Only the last N lines (full lines: a line split into `P` records counts once). */
  tail?: number;
  /** Only records written at or after this time (RFC3339Nano string for nanosecond precision). */
  since?: Date | string;
  /** Keep reading as the log grows, until `until` says the writer is done or `signal` aborts. */
  follow?: boolean;
  signal?: AbortSignal;
  /** With `follow`: the writer (conmon) is done, e.g. `watchExit(exitDir, id)`. */
  until?: WriterDone;
  pollMs?: number;
  chunkBytes?: number;
}

/** The records of the CRI log at `path`. Throws CriLogParseError on a malformed line. */
export async function* readLog(path: string, opts: ReadLogOptions = {}): AsyncGenerator<CriLogRecord> {
  const since = opts.since === undefined ? undefined : sinceToNanos(opts.since);
  const follow = opts.follow === true;
  const watch = follow
    ? new LogWatch(path, {
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
        ...(opts.until === undefined ? {} : { until: opts.until }),
      })
    : undefined;
  const buf = Buffer.allocUnsafe(opts.chunkBytes ?? LOG_READ_CHUNK_BYTES);
  let fh: FileHandle | undefined;
  try {
    fh = await openLog(path, follow);
    let window: TailWindow | undefined;
    if (fh !== undefined && opts.tail !== undefined) {
      const size = (await fh.stat()).size;
      window = await findTail(fh, size, opts.tail, {
        source: path,
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      });
    }
    let offset = window?.start ?? 0;
    let decoder = new CriLogDecoder({ source: path, offset });
    const keep = (rec: CriLogRecord, at: number) =>
      (window === undefined || inTail(window, rec, at)) &&
      (since === undefined || timeToNanos(rec.time) >= since);

    /** Reads `fh` from `offset` to its current end, yielding the records kept. */
    async function* drain(): AsyncGenerator<CriLogRecord> {
      for (;;) {
        if (fh === undefined || opts.signal?.aborted) return;
        const { bytesRead } = await fh.read(buf, 0, buf.byteLength, offset);
        if (bytesRead === 0) return;
        offset += bytesRead;
        const out: CriLogRecord[] = [];
        decoder.write(buf.subarray(0, bytesRead), (rec, at) => {
          if (keep(rec, at)) out.push(rec);
        });
        yield* out;
      }
    }

    for (;;) {
      // Asked before the drain: a writer done before it means the drain sees all it wrote.
      const writerDone = watch === undefined ? true : await watch.writerDone();
      yield* drain();
      if (watch === undefined || opts.signal?.aborted) return;
      const change = fh === undefined ? 'replaced' : await fileChange(path, fh, offset);
      if (change === 'replaced' || change === 'truncated') {
        if (change === 'replaced') {
          yield* drain(); // what conmon wrote to the old file between our last read and its rename
          const next = await openLog(path, true);
          if (next === undefined && fh === undefined) {
            if (writerDone) return;
            await watch.wait(opts.pollMs ?? LOG_POLL_MS);
            continue;
          }
          await fh?.close();
          fh = next;
        }
        window = undefined;
        offset = 0;
        decoder = new CriLogDecoder({ source: path, offset });
        continue;
      }
      if (writerDone) {
        decoder.end(); // every record conmon writes ends in '\n': a torn last line is data loss
        return;
      }
      await watch.wait(opts.pollMs ?? LOG_POLL_MS);
    }
  } finally {
    watch?.close();
    await fh?.close();
  }
}

/** Opens the log; undefined when it does not exist yet and the caller follows it. */
async function openLog(path: string, follow: boolean): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
    if (follow) return undefined;
    throw new NotFoundError(`container log ${path}: no such file`, { cause: err });
  }
}
