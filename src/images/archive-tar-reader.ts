// An image archive in a tar file, read in two sequential passes and never extracted to disk.
// Why two: `docker save` writes manifest.json last and skopeo's oci-archive writes index.json after
// the blobs, so which entry is a layer, and what digest it must have, is known only at the end.
// Pass 1 (open) notes every entry's name, size and first bytes and keeps the small JSON documents
// (≤ 4 MiB each, 64 MiB in all); pass 2 (stream) reads the file again and hands the import exactly
// the entries its plan needs, which it hashes into content ingests. A layer is read from disk twice
// but written once, and never held in memory.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import { InvalidArgumentError, isBerthError, ResourceExhaustedError } from '../errdefs/index.ts';
import { MAX_MANIFEST_SIZE } from '../oci/image/index.ts';
import { archivePath, linkTarget, resolveLinks } from './archive-paths.ts';
import { type ArchiveEntry, type ArchiveReader, magicLength } from './archive-reader.ts';

/** JSON kept from pass 1 in all: far above any real archive's manifests and configs. */
export const maxArchiveDocumentBytes = 64 * 1024 * 1024;
/** Entries one archive may hold: bounds pass 1's table (docker save of a large image: hundreds). */
export const maxArchiveEntries = 100_000;

interface Noted extends ArchiveEntry {
  document?: Buffer;
}

/** Each entry of the tar `file` with its (Node) body stream, which the callback must consume. */
async function eachEntry(file: string, fn: (header: Header, body: Readable) => Promise<void>): Promise<void> {
  const ex = extract();
  const input = createReadStream(file);
  input.on('data', (chunk) => {
    if (!ex.write(chunk)) input.pause();
  });
  ex.on('drain', () => input.resume());
  input.on('end', () => ex.end(undefined));
  input.on('error', (err) => ex.destroy(err));
  try {
    for await (const entry of ex) {
      await fn(entry.header, Readable.from(entry, { objectMode: false }));
    }
  } catch (err) {
    // tar-stream's own errors (a cut or non-tar file) are plain Errors: name the archive, one line.
    if (err instanceof Error && !isBerthError(err) && !('code' in err)) {
      throw new InvalidArgumentError(`archive ${file}: not a readable tar archive: ${err.message}`, {
        cause: err,
        hint: 'the file may be cut short or not an image archive (OCI layout tar or docker save)',
      });
    }
    throw err;
  } finally {
    input.destroy();
  }
}

async function drain(body: Readable): Promise<void> {
  for await (const _ of body) {
    // skipping an entry's bytes: tar-stream reaches the next header only after them
  }
}

export class TarArchive implements ArchiveReader {
  readonly what: string;
  private readonly file: string;
  private readonly files = new Map<string, Noted>();
  private readonly links = new Map<string, string>();

  private constructor(file: string) {
    this.file = file;
    this.what = `archive ${file}`;
  }

  /** Pass 1: checks every entry's name and type and notes it. */
  static async open(file: string): Promise<TarArchive> {
    const archive = new TarArchive(file);
    let kept = 0;
    let count = 0;
    await eachEntry(file, async (header, body) => {
      if (++count > maxArchiveEntries) {
        throw new ResourceExhaustedError(`${archive.what}: more than ${maxArchiveEntries} entries`);
      }
      const what = `${archive.what}: entry ${JSON.stringify(header.name)}`;
      const path = archivePath(header.name, what);
      if (header.type === 'directory') return drain(body);
      if (archive.files.has(path) || archive.links.has(path)) {
        throw new InvalidArgumentError(`${what}: appears twice`);
      }
      if (header.type === 'symlink' || header.type === 'link') {
        const target = header.linkname ?? '';
        // A hard link names its target from the archive root, a symlink from the link's directory.
        const resolved = header.type === 'link' ? archivePath(target, what) : linkTarget(path, target, what);
        archive.links.set(path, resolved);
        return drain(body);
      }
      if (header.type !== 'file' && header.type !== 'contiguous-file') {
        throw new InvalidArgumentError(`${what}: a ${header.type} entry has no place in an image archive`);
      }
      const size = header.size ?? 0;
      const noted: Noted = { path, size, magic: Buffer.alloc(0) };
      const keep = size <= MAX_MANIFEST_SIZE;
      const chunks: Buffer[] = [];
      for await (const chunk of body) {
        const buf = chunk as Buffer;
        if (noted.magic.length < magicLength) {
          noted.magic = Buffer.concat([noted.magic, buf.subarray(0, magicLength - noted.magic.length)]);
        }
        if (keep) chunks.push(buf);
      }
      // JSON documents start with `{` or `[`; layers (tar, gzip, zstd) never do.
      const first = noted.magic[0];
      if (keep && (first === 0x7b || first === 0x5b)) {
        kept += size;
        if (kept > maxArchiveDocumentBytes) {
          throw new ResourceExhaustedError(
            `${archive.what}: more than ${maxArchiveDocumentBytes} bytes of JSON documents`,
          );
        }
        noted.document = Buffer.concat(chunks);
      }
      archive.files.set(path, noted);
    });
    return archive;
  }

  async entry(path: string): Promise<ArchiveEntry | undefined> {
    const found = this.files.get(resolveLinks(this.links, path, this.what));
    return found === undefined ? undefined : { path: found.path, size: found.size, magic: found.magic };
  }

  async document(path: string, limit: number): Promise<Buffer | undefined> {
    const found = this.files.get(resolveLinks(this.links, path, this.what));
    if (found === undefined) return undefined;
    if (found.size > limit || found.document === undefined) {
      throw new ResourceExhaustedError(
        `${this.what}: ${path} is not a JSON document of at most ${Math.min(limit, MAX_MANIFEST_SIZE)} bytes`,
      );
    }
    return found.document;
  }

  /** Pass 2: the file again, front to back; entries not asked for are skipped. */
  async stream(
    paths: ReadonlySet<string>,
    fn: (path: string, body: Readable) => Promise<void>,
  ): Promise<void> {
    const seen = new Set<string>();
    await eachEntry(this.file, async (header, body) => {
      const path = archivePath(header.name, `${this.what}: entry ${JSON.stringify(header.name)}`);
      const noted = this.files.get(path);
      if (!paths.has(path) || seen.has(path) || noted === undefined || header.size !== noted.size) {
        return drain(body);
      }
      seen.add(path);
      await fn(path, body);
    });
    const missing = [...paths].filter((p) => !seen.has(p));
    if (missing.length > 0) {
      throw new InvalidArgumentError(
        `${this.what}: ${missing.join(', ')} changed between two reads of the file`,
      );
    }
  }
}
