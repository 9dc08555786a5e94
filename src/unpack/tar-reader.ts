// The layer's tar, read synchronously as its bytes arrive: headers (ustar, GNU, PAX) are decoded and
// handed to `onEntry`, a regular file's data goes straight to the sink it returns, in pieces of the
// chunks pushed (no copy). It replaced tar-stream plus a second structure walker that cross-checked
// it (per-entry stream objects and microtasks were a third of the unpack worker's time on small
// files); the walker's checks are kept here:
// - PAX records are kept as raw bytes (pax.ts: binary xattr values such as `security.capability`).
// - The archive must end with its end-of-archive marker (two zero blocks); a stream cut at an entry
//   boundary is truncated, and a header after the marker is refused: GNU tar and Go's archive/tar
//   (containerd) never read it, so applying it would make berth's rootfs differ from theirs.
// - A directory's data, if any, is skipped as data (as GNU tar and Go read it), never parsed as
//   headers; the applier then refuses the entry.
// Formats: POSIX ustar (name prefix), GNU (`L`/`K`/`N` long names, base-256 numbers) and PAX (`x`
// per entry; `g` global records apply to every later entry's metadata). PAX path/linkpath/size
// override the header; GNU long names too, PAX winning (as tar-stream did).

import { DataLossError, InvalidArgumentError } from '../errdefs/index.ts';
import { type PaxRecords, parsePaxRecords } from './pax.ts';

const block = 512;
/** Extended headers above 4 MiB are refused (tar-stream's MAX_HEADER_SIZE, kept). */
const maxExtendedHeader = 4 * 1024 * 1024;

const typePax = 0x78; // 'x'
const typePaxGlobal = 0x67; // 'g'
const typeLongName = 0x4c; // 'L'
const typeLongLink = 0x4b; // 'K'
const typeOldLongName = 0x4e; // 'N'
/** Headers whose data describes the next entry. */
const extendedTypes = new Set([typePax, typePaxGlobal, typeLongName, typeLongLink, typeOldLongName]);

/** Entry types by type flag (tar-stream's names, which the applier and its messages use). */
const entryTypes: ReadonlyMap<number, string> = new Map([
  [0, 'file'],
  [0x30, 'file'],
  [0x31, 'link'],
  [0x32, 'symlink'],
  [0x33, 'character-device'],
  [0x34, 'block-device'],
  [0x35, 'directory'],
  [0x36, 'fifo'],
  [0x37, 'contiguous-file'],
]);

export interface TarHeader {
  /** Offset of the entry's own header block in the tar. */
  offset: number;
  name: string;
  /** `file`, `directory`, `symlink`, `link`, `character-device`, …; an unknown flag as itself (`S`). */
  type: string;
  linkname: string | null;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  devmajor: number;
  devminor: number;
}

/** The data of an entry goes here, chunk by chunk (each valid only during the call). */
export interface FileSink {
  write(chunk: Uint8Array): void;
  end(): void;
}

/** Applies one entry; returns where its data goes, or undefined to skip the data. */
export type EntryHandler = (header: TarHeader, pax: PaxRecords | undefined) => FileSink | undefined;

export function padding(size: number): number {
  const rest = size % block;
  return rest === 0 ? 0 : block - rest;
}

/** A tar numeric field: octal digits (space/NUL padded), or GNU base-256 when the top bit is set. */
export function parseTarNumber(buf: Uint8Array, offset: number, length: number): number {
  const end = offset + length;
  if ((buf[offset] ?? 0) & 0x80) {
    let n = (buf[offset] ?? 0) & 0x7f;
    for (let i = offset + 1; i < end; i++) n = n * 256 + (buf[i] ?? 0);
    return n;
  }
  let i = offset;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0)) i++;
  let n = 0;
  for (; i < end; i++) {
    const c = buf[i] as number;
    if (c < 0x30 || c > 0x37) break;
    n = n * 8 + (c - 0x30);
  }
  return n;
}

/** A NUL-terminated string field, as UTF-8. */
function field(buf: Buffer, offset: number, length: number): string {
  const nul = buf.indexOf(0, offset);
  const end = nul < 0 || nul > offset + length ? offset + length : nul;
  return buf.toString('utf8', offset, end);
}

/** The header checksum with bytes taken as signed chars (the checksum field counted as spaces). */
function signedSum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < block; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (header[i] as number);
    sum += b > 127 ? b - 256 : b;
  }
  return sum;
}

interface Capture {
  type: number;
  /** Offset of the extended header, for messages. */
  at: number;
  size: number;
  parts: Buffer[];
}

export class TarReader {
  /** Entries handed to onEntry (extended headers not counted). */
  entries = 0;
  readonly #onEntry: EntryHandler;
  /** A header block split across chunks is gathered here. */
  readonly #header = Buffer.alloc(block);
  #headerFill = 0;
  /** Absolute offset of the next byte pushed. */
  #pos = 0;
  /** Data bytes of the current entry (or extended header) still to come, then its padding. */
  #dataLeft = 0;
  #dataSize = 0;
  #padLeft = 0;
  #sink: FileSink | undefined;
  #capture: Capture | undefined;
  #zeroBlocks = 0;
  #local: PaxRecords | undefined;
  #global: PaxRecords | undefined;
  #longName: string | undefined;
  #longLink: string | undefined;

  constructor(onEntry: EntryHandler) {
    this.#onEntry = onEntry;
  }

  push(chunk: Buffer): void {
    const length = chunk.length;
    let off = 0;
    while (off < length) {
      if (this.#dataLeft > 0) {
        const n = Math.min(this.#dataLeft, length - off);
        const piece = chunk.subarray(off, off + n);
        off += n;
        this.#pos += n;
        this.#dataLeft -= n;
        if (this.#capture !== undefined) this.#capture.parts.push(Buffer.from(piece));
        else this.#sink?.write(piece);
        if (this.#dataLeft === 0) this.#endData();
        continue;
      }
      if (this.#padLeft > 0) {
        const n = Math.min(this.#padLeft, length - off);
        off += n;
        this.#pos += n;
        this.#padLeft -= n;
        continue;
      }
      if (this.#headerFill === 0 && length - off >= block) {
        const at = this.#pos;
        off += block;
        this.#pos += block;
        this.#onHeader(chunk.subarray(off - block, off), at);
        continue;
      }
      const n = Math.min(block - this.#headerFill, length - off);
      chunk.copy(this.#header, this.#headerFill, off, off + n);
      off += n;
      this.#pos += n;
      this.#headerFill += n;
      if (this.#headerFill === block) {
        this.#headerFill = 0;
        this.#onHeader(this.#header, this.#pos - block);
      }
    }
  }

  /** At the end of the stream: the archive must have ended with its end-of-archive marker. */
  finish(): void {
    if (this.#dataLeft > 0 || this.#padLeft > 0 || this.#headerFill > 0) {
      throw new DataLossError(`layer tar is truncated: it ends inside an entry (at byte ${this.#pos})`);
    }
    if (this.#zeroBlocks < 2) {
      throw new DataLossError(
        `layer tar is truncated: it ends at byte ${this.#pos} without the end-of-archive marker (two zero blocks, found ${this.#zeroBlocks})`,
      );
    }
  }

  #onHeader(header: Buffer, at: number): void {
    // One pass for both the zero-block test and the checksum (computed with its own field as spaces).
    let sum = 0;
    for (let i = 0; i < block; i++) sum += header[i] as number;
    if (sum === 0) {
      this.#zeroBlocks++;
      return;
    }
    if (this.#zeroBlocks > 0) {
      throw new InvalidArgumentError(
        `layer tar: a header at byte ${at} follows the end-of-archive marker (tar and containerd stop reading there)`,
      );
    }
    this.#checkHeader(header, at, sum);
    const type = header[156] as number;
    const size = parseTarNumber(header, 124, 12);
    if (extendedTypes.has(type)) {
      if (size > maxExtendedHeader) {
        const what = type === typePax || type === typePaxGlobal ? 'PAX' : 'GNU long name';
        throw new InvalidArgumentError(
          `layer tar: ${what} header at byte ${at} is ${size} bytes (limit 4 MiB)`,
        );
      }
      this.#capture = { type, at, size, parts: [] };
      this.#startData(size);
      return;
    }
    this.#entry(header, at, type, size);
  }

  #checkHeader(header: Buffer, at: number, sum: number): void {
    let unsigned = sum;
    for (let i = 148; i < 156; i++) unsigned += 0x20 - (header[i] as number);
    const stored = parseTarNumber(header, 148, 8);
    // Go's archive/tar accepts either sum (some old writers used signed chars).
    if (stored !== unsigned && stored !== signedSum(header)) {
      throw new DataLossError(`layer tar is corrupt or truncated: bad header checksum at byte ${at}`);
    }
    // ustar/POSIX ("ustar\0") or GNU ("ustar  \0"); tar-stream refused anything else, and so does this.
    if (header.toString('latin1', 257, 262) !== 'ustar') {
      throw new DataLossError(`layer tar is corrupt or truncated: unknown header format at byte ${at}`);
    }
  }

  #entry(header: Buffer, at: number, type: number, headerSize: number): void {
    const ustar = header[262] === 0; // POSIX ustar has a name prefix; GNU uses the bytes otherwise
    let name = field(header, 0, 100);
    if (ustar && header[345] !== 0) name = `${field(header, 345, 155)}/${name}`;
    // Old tars mark directories with a trailing slash only.
    let typeName = entryTypes.get(type) ?? String.fromCharCode(type);
    if (type === 0 && name.endsWith('/')) typeName = 'directory';
    let linkname = header[157] === 0 ? null : field(header, 157, 100);
    if (this.#longName !== undefined) name = this.#longName;
    if (this.#longLink !== undefined) linkname = this.#longLink;
    this.#longName = undefined;
    this.#longLink = undefined;
    const local = this.#local;
    this.#local = undefined;
    let size = headerSize;
    if (local !== undefined) {
      const path = local.get('path');
      if (path !== undefined && path.length > 0) name = path.toString('utf8');
      const linkpath = local.get('linkpath');
      if (linkpath !== undefined && linkpath.length > 0) linkname = linkpath.toString('utf8');
      const paxSize = local.get('size');
      if (paxSize !== undefined && paxSize.length > 0) {
        const text = paxSize.toString('latin1');
        if (!/^\d+$/.test(text)) {
          throw new DataLossError(
            `layer tar is corrupt or truncated: PAX size ${JSON.stringify(text)} at byte ${at}`,
          );
        }
        size = Number(text);
      }
    }
    const global = this.#global;
    const records =
      global === undefined ? local : local === undefined ? global : new Map([...global, ...local]);
    this.entries++;
    const sink = this.#onEntry(
      {
        offset: at,
        name,
        type: typeName,
        linkname,
        mode: parseTarNumber(header, 100, 8),
        uid: parseTarNumber(header, 108, 8),
        gid: parseTarNumber(header, 116, 8),
        size,
        mtime: parseTarNumber(header, 136, 12),
        devmajor: parseTarNumber(header, 329, 8),
        devminor: parseTarNumber(header, 337, 8),
      },
      records,
    );
    this.#sink = sink;
    this.#startData(size);
  }

  #startData(size: number): void {
    this.#dataSize = size;
    this.#dataLeft = size;
    if (size === 0) this.#endData();
  }

  #endData(): void {
    const capture = this.#capture;
    if (capture !== undefined) {
      this.#capture = undefined;
      this.#padLeft = padding(this.#dataSize);
      this.#endCapture(capture);
      return;
    }
    const sink = this.#sink;
    this.#sink = undefined;
    this.#padLeft = padding(this.#dataSize);
    sink?.end();
  }

  #endCapture(capture: Capture): void {
    const data = capture.parts.length === 1 ? (capture.parts[0] as Buffer) : Buffer.concat(capture.parts);
    if (capture.type === typePax || capture.type === typePaxGlobal) {
      const records = parsePaxRecords(data, capture.at);
      if (capture.type === typePax) this.#local = records;
      else this.#global = new Map([...(this.#global ?? []), ...records]);
    } else {
      const nul = data.indexOf(0);
      const text = data.toString('utf8', 0, nul < 0 ? data.length : nul);
      if (capture.type === typeLongLink) this.#longLink = text;
      else this.#longName = text;
    }
  }
}
