// A minimal OCI image layout (image-spec 1.1 image-layout.md) on a local directory:
//
//   <dir>/oci-layout            {"imageLayoutVersion":"1.0.0"}
//   <dir>/index.json            an image index; entries named by org.opencontainers.image.ref.name
//   <dir>/blobs/<alg>/<encoded> content-addressed blobs
//
// Every write is atomic and verified (design.md example 9): blobs stream into a temp file in the
// layout directory while being hashed, are fsynced, checked against the expected digest and size,
// and only then renamed into blobs/. index.json is replaced by temp file + rename under an exclusive
// lock file (index-lock.ts), so readers never see a half-written file and concurrent writers never
// lose each other's entries. The full content store (ingest, resume, Provider/Ingester) is meant to
// be built on top of this class.

import { createHash } from 'node:crypto';
import { type FileHandle, mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CanceledError,
  DataLossError,
  FailedPreconditionError,
  InvalidArgumentError,
  isErrno,
  NotFoundError,
} from '../errdefs/index.ts';
import {
  AnnotationRefName,
  type Descriptor,
  type Digest,
  type DigestAlgorithm,
  formatDigest,
  type Index,
  MediaType,
  parseDigest,
} from '../oci/image/index.ts';
import { createIfAbsent, exists, removeIfPresent, replaceFile, syncDir, tempPath } from './atomic-file.ts';
import { withIndexLock } from './index-lock.ts';
import type { BlobInfo, BlobSource, BlobWriter, ExpectedBlob, SignalOptions } from './types.ts';

export const ociLayoutFile = 'oci-layout';
export const indexFile = 'index.json';
export const imageLayoutVersion = '1.0.0';

export class OciLayout implements BlobWriter {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates the layout in `dir` (made if missing), or opens it when it is already a layout. */
  static async create(dir: string): Promise<OciLayout> {
    await mkdir(join(dir, 'blobs'), { recursive: true });
    // Both files are created only when absent: create() on an existing layout keeps its index.
    await createIfAbsent(dir, ociLayoutFile, JSON.stringify({ imageLayoutVersion }));
    const empty: Index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
    await createIfAbsent(dir, indexFile, JSON.stringify(empty));
    return OciLayout.open(dir);
  }

  /** Opens an existing layout: NotFoundError without an oci-layout file, FailedPrecondition for another version. */
  static async open(dir: string): Promise<OciLayout> {
    const path = join(dir, ociLayoutFile);
    const parsed = await readJson(path, `${dir}: not an OCI image layout (no oci-layout file)`);
    const version = (parsed as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
    if (version !== imageLayoutVersion) {
      throw new FailedPreconditionError(
        `${path}: imageLayoutVersion ${JSON.stringify(version)}, berth reads ${imageLayoutVersion}`,
      );
    }
    return new OciLayout(dir);
  }

  /** The path of a blob. Throws InvalidArgumentError for anything but a canonical digest. */
  blobPath(digest: Digest): string {
    const { algorithm, encoded } = parseDigest(digest, 'blob digest');
    return join(this.dir, 'blobs', algorithm, encoded);
  }

  /**
   * Streams `source` into the layout and returns its digest and size (sha256 unless `expected`
   * names another algorithm). With `expected`, a mismatch throws DataLossError and leaves no blob.
   * The source is read to its end even when the blob exists already, so a pipeline feeding it
   * finishes normally; on failure a stream source is destroyed, so its producer stops too.
   */
  async writeBlob(
    source: BlobSource,
    expected?: ExpectedBlob,
    options: SignalOptions = {},
  ): Promise<BlobInfo> {
    const { signal } = options;
    let fh: FileHandle | undefined;
    const tmp = tempPath(this.dir, 'blob');
    let renamed = false;
    try {
      const algorithm: DigestAlgorithm = expected
        ? parseDigest(expected.digest, 'expected digest').algorithm
        : 'sha256';
      checkAborted(signal);
      fh = await open(tmp, 'wx', 0o644);
      const hash = createHash(algorithm);
      let size = 0;
      for await (const chunk of source instanceof Uint8Array ? [source] : source) {
        checkAborted(signal);
        size += chunk.byteLength;
        if (expected?.size !== undefined && size > expected.size) {
          throw new DataLossError(
            `blob ${expected.digest}: more than the expected ${expected.size} bytes arrived`,
          );
        }
        hash.update(chunk);
        await fh.write(chunk);
      }
      await fh.sync();
      await fh.close();
      fh = undefined;
      const digest = formatDigest(algorithm, hash.digest('hex'));
      if (
        expected &&
        (digest !== expected.digest || (expected.size !== undefined && size !== expected.size))
      ) {
        throw new DataLossError(
          `blob ${expected.digest}: content does not match: expected digest ${expected.digest}` +
            ` (size ${expected.size ?? 'any'}), got digest ${digest} (size ${size})`,
        );
      }
      const target = this.blobPath(digest);
      // Race handled: two writers of the same blob may both find it absent and both rename. The
      // second rename atomically replaces the file with identical bytes (same digest), so a reader
      // sees a complete blob either way. When it is present already we just drop our copy.
      if (await exists(target)) return { digest, size };
      await mkdir(join(this.dir, 'blobs', algorithm), { recursive: true });
      await rename(tmp, target);
      renamed = true;
      await syncDir(join(this.dir, 'blobs', algorithm));
      return { digest, size };
    } catch (err) {
      // A producer piping into `source` must not wait forever for a reader that gave up.
      destroySource(source, err);
      throw err;
    } finally {
      await fh?.close();
      if (!renamed) await removeIfPresent(tmp);
    }
  }

  /** Size and digest of a stored blob; NotFoundError when absent. */
  async blobInfo(digest: Digest): Promise<BlobInfo> {
    const path = this.blobPath(digest);
    try {
      return { digest, size: (await stat(path)).size };
    } catch (err) {
      if (isErrno(err, 'ENOENT'))
        throw new NotFoundError(`blob ${digest}: not in ${this.dir}`, { cause: err });
      throw err;
    }
  }

  /** Reads a whole blob (meant for manifests, configs, indexes) and verifies its digest. */
  async readBlob(digest: Digest): Promise<Buffer> {
    const { algorithm, encoded } = parseDigest(digest, 'blob digest');
    let data: Buffer;
    try {
      data = await readFile(this.blobPath(digest));
    } catch (err) {
      if (isErrno(err, 'ENOENT'))
        throw new NotFoundError(`blob ${digest}: not in ${this.dir}`, { cause: err });
      throw err;
    }
    const actual = createHash(algorithm).update(data).digest('hex');
    if (actual !== encoded) {
      throw new DataLossError(
        `blob ${digest} in ${this.dir}: stored content has digest ${algorithm}:${actual}`,
      );
    }
    return data;
  }

  /** The layout's index.json. DataLossError when it is not a valid image index. */
  async readIndex(): Promise<Index> {
    const path = join(this.dir, indexFile);
    const parsed = await readJson(path, `${path}: missing`);
    if (!isIndex(parsed))
      throw new DataLossError(`${path}: not an image index (schemaVersion 2, manifests[])`);
    return parsed;
  }

  /** The descriptor tagged `refName` in index.json; NotFoundError when there is none. */
  async resolve(refName: string): Promise<Descriptor> {
    const { manifests } = await this.readIndex();
    const found = manifests.find((d) => d.annotations?.[AnnotationRefName] === refName);
    if (!found)
      throw new NotFoundError(`ref ${JSON.stringify(refName)}: not in ${join(this.dir, indexFile)}`);
    return found;
  }

  /**
   * Adds `desc` to index.json named `refName`, replacing (in place) an entry with the same name.
   * The blob must be in the layout already, with the descriptor's size.
   */
  async addManifest(desc: Descriptor, refName: string, options: SignalOptions = {}): Promise<void> {
    if (refName === '') throw new InvalidArgumentError('ref name: must not be empty');
    const info = await this.blobInfo(desc.digest).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err;
      throw new FailedPreconditionError(`manifest ${desc.digest}: write the blob before tagging it`, {
        cause: err,
      });
    });
    if (info.size !== desc.size) {
      throw new DataLossError(
        `manifest ${desc.digest}: descriptor size ${desc.size}, stored blob ${info.size}`,
      );
    }
    const entry: Descriptor = { ...desc, annotations: { ...desc.annotations, [AnnotationRefName]: refName } };
    await withIndexLock(join(this.dir, `${indexFile}.lock`), options.signal, async () => {
      const index = await this.readIndex();
      const at = index.manifests.findIndex((d) => d.annotations?.[AnnotationRefName] === refName);
      if (at >= 0) index.manifests[at] = entry;
      else index.manifests.push(entry);
      await replaceFile(this.dir, indexFile, JSON.stringify(index));
    });
  }
}

/** Parses a JSON file: NotFoundError (with `missing` as message) when absent, DataLossError when malformed. */
async function readJson(path: string, missing: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new NotFoundError(missing, { cause: err });
    throw err;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) throw new DataLossError(`${path}: not valid JSON`, { cause: err });
    throw err;
  }
}

function isIndex(value: unknown): value is Index {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { schemaVersion?: unknown; manifests?: unknown };
  return v.schemaVersion === 2 && Array.isArray(v.manifests);
}

function destroySource(source: BlobSource, err: unknown): void {
  const stream = source as { destroy?: unknown; destroyed?: unknown };
  if (typeof stream.destroy === 'function' && stream.destroyed !== true) {
    (stream.destroy as (e: unknown) => void).call(source, err);
  }
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CanceledError('writing a blob: canceled', { cause: signal.reason });
}
