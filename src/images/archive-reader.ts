// What `berth image import` reads an archive through, whatever its container: a tar file (read in
// two sequential passes, archive-tar-reader.ts) or a directory holding an OCI image layout. The
// planner asks for small JSON documents and entry sizes; the import then streams the blobs it needs.
import { createReadStream } from 'node:fs';
import { lstat, open, readFile, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, isErrno, ResourceExhaustedError } from '../errdefs/index.ts';

/** A regular file in the archive. */
export interface ArchiveEntry {
  /** Its canonical name, symlinks followed. */
  path: string;
  size: number;
  /** Its first bytes (up to 4): gzip and zstd layers are told from plain tars by them. */
  magic: Buffer;
}

export interface ArchiveReader {
  /** `archive /path/to/file.tar`, for messages. */
  readonly what: string;
  /** The regular file at `path` (canonical; links followed), or undefined when absent. */
  entry(path: string): Promise<ArchiveEntry | undefined>;
  /** A JSON document's bytes; undefined when absent, ResourceExhausted when over `limit`. */
  document(path: string, limit: number): Promise<Buffer | undefined>;
  /**
   * Calls `fn` once for each of `paths` (canonical, links resolved) with the entry's bytes, which it
   * must read to the end. A tar is read once more, front to back; a directory file by file.
   */
  stream(paths: ReadonlySet<string>, fn: (path: string, body: Readable) => Promise<void>): Promise<void>;
}

/** First bytes of a file: gzip is 1f 8b, zstd 28 b5 2f fd, a tar anything else. */
export const magicLength = 4;

/** An OCI image layout (or an unpacked docker save) in a directory. */
export class DirectoryArchive implements ArchiveReader {
  readonly what: string;
  private readonly dir: string;
  private root: string | undefined;

  constructor(dir: string) {
    this.dir = dir;
    this.what = `archive directory ${dir}`;
  }

  /** The real path of `path`, refused when a symlink on the way leads out of the directory. */
  private async real(path: string): Promise<string | undefined> {
    this.root ??= await realpath(this.dir);
    let real: string;
    try {
      real = await realpath(join(this.root, path));
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
      throw err;
    }
    if (!real.startsWith(this.root + sep)) {
      throw new InvalidArgumentError(`${this.what}: ${path} is a link to ${real}, outside the directory`);
    }
    return real;
  }

  async entry(path: string): Promise<ArchiveEntry | undefined> {
    const real = await this.real(path);
    if (real === undefined) return undefined;
    const st = await lstat(real);
    if (!st.isFile()) throw new InvalidArgumentError(`${this.what}: ${path} is not a regular file`);
    const fh = await open(real, 'r');
    try {
      const magic = Buffer.alloc(magicLength);
      const { bytesRead } = await fh.read(magic, 0, magicLength, 0);
      return { path, size: st.size, magic: magic.subarray(0, bytesRead) };
    } finally {
      await fh.close();
    }
  }

  async document(path: string, limit: number): Promise<Buffer | undefined> {
    const found = await this.entry(path);
    if (found === undefined) return undefined;
    if (found.size > limit) {
      throw new ResourceExhaustedError(
        `${this.what}: ${path} is ${found.size} bytes, over the limit of ${limit}`,
      );
    }
    const real = (await this.real(path)) as string;
    return readFile(real);
  }

  async stream(
    paths: ReadonlySet<string>,
    fn: (path: string, body: Readable) => Promise<void>,
  ): Promise<void> {
    for (const path of paths) {
      const real = await this.real(path);
      if (real === undefined)
        throw new InvalidArgumentError(`${this.what}: ${path} vanished while importing`);
      await fn(path, createReadStream(real));
    }
  }
}
