// A second, minimal look at the tar's block structure, run on the same bytes just before tar-stream
// parses them. It exists for three things tar-stream does not do:
// 1. Raw PAX records for each entry (see pax.ts: tar-stream's own decoding loses binary xattrs).
// 2. The end of the archive. POSIX ustar ends an archive with two zero blocks; tar-stream skips zero
//    blocks anywhere and accepts an archive that just stops at an entry boundary. A stream cut there
//    is truncated, and headers after the end marker are entries that GNU tar and Go's archive/tar
//    (containerd) never read: applying them would make berth's rootfs differ from theirs.
// 3. Agreement: tar-stream must report each entry at the header offset this walker stopped at, so
//    both parsers see the same sequence of headers (e.g. a directory with a data size is read as
//    data by one and as headers by the other: refused).
// The walker only interprets zero blocks and extended headers (`x`, `g`, GNU `L`/`K`/`N`); it
// stops at every other header until tar-stream reports that entry and its (PAX-corrected) size.

import { DataLossError, InvalidArgumentError } from '../errdefs/index.ts';
import { type PaxRecords, parsePaxRecords } from './pax.ts';

const block = 512;
/** tar-stream refuses extended headers above 4 MiB (MAX_HEADER_SIZE); so does this walker. */
const maxExtendedHeader = 4 * 1024 * 1024;

const typePax = 0x78; // 'x'
const typePaxGlobal = 0x67; // 'g'
const gnuLongTypes = new Set([0x4c, 0x4b, 0x4e]); // 'L' long name, 'K' long link name, 'N' old long name

export function padding(size: number): number {
  const rest = size % block;
  return rest === 0 ? 0 : block - rest;
}

/** A tar numeric field: octal digits (NUL/space terminated), or GNU base-256 when the top bit is set. */
export function parseTarNumber(buf: Buffer, offset: number, length: number): number {
  const field = buf.subarray(offset, offset + length);
  if ((field[0] ?? 0) & 0x80) {
    let n = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] ?? 0);
    return n;
  }
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

interface Capture {
  global: boolean;
  /** Offset of the extended header, for messages. */
  at: number;
  size: number;
  remaining: number;
  parts: Buffer[];
}

export class TarStructure {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Absolute offset of the first buffered byte. */
  #pos = 0;
  #skip = 0;
  #capture: Capture | undefined;
  #waitingAt: number | undefined;
  #zeroBlocks = 0;
  #local: PaxRecords | undefined;
  #global: PaxRecords = new Map();

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#run();
  }

  /**
   * tar-stream reports an entry whose header is at `offset` and whose data has `size` bytes. Returns
   * the PAX records that apply to it (global ones overridden by its own).
   */
  entry(offset: number, size: number): PaxRecords | undefined {
    if (this.#waitingAt !== offset) {
      throw new InvalidArgumentError(
        `layer tar: ambiguous structure, an entry header at byte ${offset} where ${this.#waitingAt ?? 'no header'} was expected`,
      );
    }
    this.#waitingAt = undefined;
    this.#skip = block + size + padding(size);
    const local = this.#local;
    this.#local = undefined;
    const records = this.#global.size === 0 ? local : new Map([...this.#global, ...(local ?? [])]);
    this.#run();
    return records;
  }

  /** At the end of the stream: the archive must have ended with its end-of-archive marker. */
  finish(): void {
    if (
      this.#skip > 0 ||
      this.#capture !== undefined ||
      this.#waitingAt !== undefined ||
      this.#buffered > 0
    ) {
      throw new DataLossError(`layer tar is truncated: it ends inside an entry (at byte ${this.#pos})`);
    }
    if (this.#zeroBlocks < 2) {
      throw new DataLossError(
        `layer tar is truncated: it ends at byte ${this.#pos} without the end-of-archive marker (two zero blocks, found ${this.#zeroBlocks})`,
      );
    }
  }

  #run(): void {
    for (;;) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, this.#buffered);
        if (n === 0) return;
        this.#take(n, false);
        this.#skip -= n;
        continue;
      }
      const capture = this.#capture;
      if (capture !== undefined) {
        const n = Math.min(capture.remaining, this.#buffered);
        if (n > 0) {
          capture.parts.push(this.#take(n, true));
          capture.remaining -= n;
        }
        if (capture.remaining > 0) return;
        this.#endCapture(capture);
        continue;
      }
      if (this.#waitingAt !== undefined || this.#buffered < block) return;
      const at = this.#pos;
      const header = this.#take(block, true);
      if (header.every((b) => b === 0)) {
        this.#zeroBlocks++;
        continue;
      }
      if (this.#zeroBlocks > 0) {
        throw new InvalidArgumentError(
          `layer tar: a header at byte ${at} follows the end-of-archive marker (tar and containerd stop reading there)`,
        );
      }
      const type = header[156] ?? 0;
      const size = parseTarNumber(header, 124, 12);
      if (type === typePax || type === typePaxGlobal) {
        if (size > maxExtendedHeader) {
          throw new InvalidArgumentError(
            `layer tar: PAX header at byte ${at} is ${size} bytes (limit 4 MiB)`,
          );
        }
        this.#capture = { global: type === typePaxGlobal, at, remaining: size, parts: [], size };
      } else if (gnuLongTypes.has(type)) {
        this.#skip = size + padding(size);
      } else {
        // A regular header: give it back and wait for tar-stream to report the entry.
        this.#chunks.unshift(header);
        this.#buffered += block;
        this.#pos = at;
        this.#waitingAt = at;
        return;
      }
    }
  }

  #endCapture(capture: Capture): void {
    this.#capture = undefined;
    this.#skip = padding(capture.size);
    const records = parsePaxRecords(Buffer.concat(capture.parts), capture.at);
    if (capture.global) this.#global = new Map([...this.#global, ...records]);
    else this.#local = records;
  }

  /** Consumes n buffered bytes; returns them (copied only when they span chunks) if `keep`. */
  #take(n: number, keep: boolean): Buffer {
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const first = this.#chunks[0]!;
      if (first.length <= left) {
        this.#chunks.shift();
        if (keep) parts.push(first);
        left -= first.length;
      } else {
        if (keep) parts.push(first.subarray(0, left));
        this.#chunks[0] = first.subarray(left);
        left = 0;
      }
    }
    this.#buffered -= n;
    this.#pos += n;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}
