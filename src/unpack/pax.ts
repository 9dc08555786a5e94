// PAX extended header records (POSIX.1-2001 pax "Extended Header"), parsed byte-exactly.
// tar-reader.ts applies `path`, `linkpath` and `size` itself and hands the raw record bytes here:
// decoding every value as UTF-8 (as tar-stream did) would destroy binary xattr values such as
// `security.capability`.

import { InvalidArgumentError } from '../errdefs/index.ts';

/** keyword → raw value bytes. */
export type PaxRecords = Map<string, Buffer>;

const space = 0x20;
const newline = 0x0a;
const equals = 0x3d;

/** Parses `"%d %s=%s\n"` records; `length` counts the whole record in bytes, its own digits included. */
export function parsePaxRecords(data: Buffer, offset: number): PaxRecords {
  const records: PaxRecords = new Map();
  let pos = 0;
  while (pos < data.length) {
    // Some writers pad the data with NULs; nothing follows them.
    if (data[pos] === 0) break;
    const sp = data.indexOf(space, pos);
    const length = sp < 0 ? Number.NaN : Number(data.toString('latin1', pos, sp));
    if (!Number.isSafeInteger(length) || length <= sp - pos + 1 || pos + length > data.length) {
      throw malformed(offset, 'bad record length');
    }
    if (data[pos + length - 1] !== newline) throw malformed(offset, 'record does not end with a newline');
    const body = data.subarray(sp + 1, pos + length - 1);
    const eq = body.indexOf(equals);
    if (eq <= 0) throw malformed(offset, 'record without "keyword="');
    records.set(body.toString('utf8', 0, eq), Buffer.from(body.subarray(eq + 1)));
    pos += length;
  }
  return records;
}

function malformed(offset: number, reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`layer tar: PAX header at byte ${offset}: ${reason}`);
}

export interface PaxMetadata {
  /** Seconds since the epoch, fractional (pax times have up to nanoseconds). */
  mtime?: number;
  atime?: number;
  uid?: number;
  gid?: number;
  /** `SCHILY.xattr.NAME` records (the form GNU tar, bsdtar, Go's archive/tar and BuildKit write). */
  xattrs: [name: string, value: Buffer][];
}

const xattrPrefix = 'SCHILY.xattr.';
const time = /^-?\d+(\.\d+)?$/;
const id = /^\d+$/;

/** The metadata berth applies from PAX records; an empty value means "unset" (pax: deletes the keyword). */
export function paxMetadata(records: PaxRecords | undefined, entryName: string): PaxMetadata {
  const meta: PaxMetadata = { xattrs: [] };
  if (records === undefined) return meta;
  for (const [key, raw] of records) {
    if (key.startsWith(xattrPrefix)) {
      meta.xattrs.push([key.slice(xattrPrefix.length), raw]);
      continue;
    }
    if (raw.length === 0) continue;
    const value = raw.toString('latin1');
    if (key === 'mtime' || key === 'atime') {
      if (!time.test(value)) throw bad(entryName, key, value);
      meta[key] = Number(value);
    } else if (key === 'uid' || key === 'gid') {
      const n = Number(value);
      if (!id.test(value) || n >= 0xffffffff) throw bad(entryName, key, value);
      meta[key] = n;
    }
  }
  return meta;
}

function bad(entryName: string, key: string, value: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `layer entry ${JSON.stringify(entryName)}: PAX ${key}=${JSON.stringify(value)} is not a number`,
  );
}
