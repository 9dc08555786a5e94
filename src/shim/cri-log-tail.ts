// `tail N` on a CRI log without reading the whole file: the file is read backwards in chunks until the
// N-th last full line is found. A "line" is what a person sees: a run of `P` records of one stream
// ended by an `F` record of the same stream (conmon src/ctr_logging.c write_k8s_log splits a line
// at each 8 KiB read), so the count is of `F` records, and the `P` records that begin the oldest lines
// kept are found too — they may lie before the N-th last `F`, interleaved with the other stream's
// records, which are not kept.
//
// The result is a window: read forward from `start`, keep every record from `boundary` on, and before
// it only `P` records of a stream after that stream's last `F`. Only streams with a record at or after
// the boundary are searched for such `P` records: a stream silent since then (stderr, in most
// containers) would otherwise send the search to the start of the file; the cost is that an
// unfinished line of that stream, wholly before the boundary, is not shown. The search also stops
// after TAIL_LOOKBACK_BYTES, so a line whose beginning lies further back is clipped.

import type { FileHandle } from 'node:fs/promises';
import { CanceledError } from '../errdefs/index.ts';
import { CriLogParseError, parseCriLogLine } from './cri-log.ts';
import { MAX_CRI_LINE_BYTES } from './cri-log-decoder.ts';
import type { CriLogRecord, LogStream } from './types.ts';

/** How far before the N-th last full line the search for its `P` records goes. */
export const TAIL_LOOKBACK_BYTES = 4 * 1024 * 1024;
/** The size of each backward read. */
export const TAIL_CHUNK_BYTES = 64 * 1024;

const NEWLINE = 0x0a;

export interface TailWindow {
  /** Where to start reading forward (a line start). */
  start: number;
  /** Every record at or after this offset is kept. */
  boundary: number;
  /** Per stream, the offset of its last `F` record before `boundary`, or -1. */
  lastFull: Record<LogStream, number>;
}

export interface TailOptions {
  source?: string;
  signal?: AbortSignal;
  chunkBytes?: number;
  lookbackBytes?: number;
}

/** Whether the record at `offset`, read forward from `w.start`, belongs to the tail. */
export function inTail(w: TailWindow, rec: CriLogRecord, offset: number): boolean {
  return offset >= w.boundary || (rec.partial && offset > w.lastFull[rec.stream]);
}

/** The window holding the last `lines` full lines of the first `size` bytes of `fh`. */
export async function findTail(
  fh: FileHandle,
  size: number,
  lines: number,
  opts: TailOptions = {},
): Promise<TailWindow> {
  const lastFull: Record<LogStream, number> = { stdout: -1, stderr: -1 };
  /** Streams seen at or after the boundary: only they can have a line begun before it. */
  const open: Record<LogStream, boolean> = { stdout: false, stderr: false };
  let boundary: number | undefined;
  let start = 0;
  let fulls = 0;
  for await (const { line, offset } of linesBackward(fh, size, opts)) {
    if (boundary === undefined && lines <= 0) {
      boundary = start = offset + line.byteLength + 1; // just past the last complete line
      break;
    }
    const origin = { offset, ...(opts.source === undefined ? {} : { source: opts.source }) };
    const rec = parseCriLogLine(line, origin);
    if (boundary === undefined) {
      open[rec.stream] = true;
      if (!rec.partial && ++fulls === lines) {
        boundary = start = offset;
        if (!open.stdout && !open.stderr) break;
      }
      continue;
    }
    if (boundary - offset > (opts.lookbackBytes ?? TAIL_LOOKBACK_BYTES)) break;
    if (!open[rec.stream]) continue;
    if (rec.partial) {
      start = offset;
    } else {
      lastFull[rec.stream] = offset;
      open[rec.stream] = false;
      if (!open.stdout && !open.stderr) break;
    }
  }
  // Fewer full lines than asked for: everything.
  return boundary === undefined ? { start: 0, boundary: 0, lastFull } : { start, boundary, lastFull };
}

/**
 * The complete lines (without `\n`) of the first `size` bytes of `fh`, last first, each with its
 * offset. Bytes after the last `\n` (a line being written) are skipped.
 */
async function* linesBackward(
  fh: FileHandle,
  size: number,
  opts: TailOptions,
): AsyncGenerator<{ line: Buffer; offset: number }> {
  const chunkBytes = opts.chunkBytes ?? TAIL_CHUNK_BYTES;
  let pos = size;
  /** The bytes from `pos` up to the end of the earliest line not yet yielded (its start is further back). */
  let carry: Buffer = Buffer.alloc(0);
  let foundEnd = false;
  while (pos > 0) {
    if (opts.signal?.aborted) throw new CanceledError(`tail of ${opts.source ?? 'CRI log'}: canceled`);
    const n = Math.min(chunkBytes, pos);
    pos -= n;
    const chunk = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await fh.read(chunk, got, n - got, pos + got);
      if (bytesRead === 0) break; // the file shrank under us: treat the missing bytes as absent
      got += bytesRead;
    }
    const buf =
      carry.byteLength === 0 ? chunk.subarray(0, got) : Buffer.concat([chunk.subarray(0, got), carry]);
    let limit = buf.byteLength; // end (exclusive, after its '\n') of the next line to yield
    if (!foundEnd) {
      const last = buf.lastIndexOf(NEWLINE);
      if (last < 0) {
        carry = tooLong(buf, opts, pos);
        continue;
      }
      foundEnd = true;
      limit = last + 1;
    }
    while (limit >= 2) {
      const prev = buf.lastIndexOf(NEWLINE, limit - 2);
      if (prev < 0) break;
      yield { line: buf.subarray(prev + 1, limit - 1), offset: pos + prev + 1 };
      limit = prev + 1;
    }
    carry = tooLong(buf.subarray(0, limit), opts, pos);
  }
  if (foundEnd && carry.byteLength > 0) yield { line: carry.subarray(0, -1), offset: 0 };
}

/** `buf` itself, unless the line it holds is already longer than any CRI line may be. */
function tooLong(buf: Buffer, opts: TailOptions, offset: number): Buffer {
  if (buf.byteLength <= MAX_CRI_LINE_BYTES) return buf;
  throw new CriLogParseError(`line longer than ${MAX_CRI_LINE_BYTES} bytes`, buf, {
    offset,
    ...(opts.source === undefined ? {} : { source: opts.source }),
  });
}
