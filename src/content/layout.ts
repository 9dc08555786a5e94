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
// lose each other's entries. The content store (store.ts: ingest, resume, Provider/Ingester) is built
// on top of this class and places its verified ingests with placeBlob.

import { createHash } from 'node:crypto';
import { type FileHandle, link, mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DataLossError,
  FailedPreconditionError,
  InvalidArgumentError,
  isErrno,
  NotFoundError,
  ResourceExhaustedError,
} from '../errdefs/index.ts';
import {
  AnnotationRefName,
  type Descriptor,
  type Digest,
  type Index,
  MediaType,
  parseDigest,
} from '../oci/image/index.ts';
import { createIfAbsent, removeIfPresent, replaceFile, syncDir, tempPath } from './atomic-file.ts';
import { streamToFile } from './blob-check.ts';
import { withIndexLock } from './index-lock.ts';
import { isIndex, readJson } from './json-file.ts';
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
    // The temp file sits in the layout directory: same filesystem as blobs/, so it can be linked.
    const tmp = tempPath(this.dir, 'blob');
    try {
      const info = await streamToFile(tmp, source, expected, options.signal);
      await this.placeBlob(tmp, info.digest);
      return info;
    } finally {
      await removeIfPresent(tmp);
    }
  }

  /**
   * Publishes the complete, fsynced, verified file `file` as blob `digest` by hard-linking it into
   * blobs/ (the caller removes `file`). Returns false when the blob was present already.
   * Race handled: two writers of the same blob may both get here. link() fails with EEXIST for the
   * second, which then knows its identical bytes (same digest) are stored and succeeds; unlike a
   * rename, it never swaps the file under a reader that has it open.
   */
  async placeBlob(file: string, digest: Digest): Promise<boolean> {
    const target = this.blobPath(digest);
    const dir = join(this.dir, 'blobs', parseDigest(digest).algorithm);
    await mkdir(dir, { recursive: true });
    try {
      await link(file, target);
    } catch (err) {
      if (isErrno(err, 'EEXIST')) return false;
      throw err;
    }
    await syncDir(dir);
    return true;
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

  /**
   * Reads a whole blob (meant for manifests, configs, indexes) and verifies its digest. A blob larger
   * than `limit` bytes is refused by its size, before it is read (ResourceExhaustedError).
   */
  async readBlob(digest: Digest, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
    const { algorithm, encoded } = parseDigest(digest, 'blob digest');
    let fh: FileHandle;
    try {
      fh = await open(this.blobPath(digest), 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT'))
        throw new NotFoundError(`blob ${digest}: not in ${this.dir}`, { cause: err });
      throw err;
    }
    let data: Buffer;
    try {
      const { size } = await fh.stat();
      if (size > limit) {
        throw new ResourceExhaustedError(`blob ${digest}: ${size} bytes, more than the limit of ${limit}`);
      }
      data = await fh.readFile();
    } finally {
      await fh.close();
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
    const entry: Descriptor = { ...desc, annotations: { ...desc.annotations, [AnnotationRefName]: refName } };
    await this.updateIndex(async (index) => {
      // Checked under the lock: a deleter takes the same lock, so the blob cannot go in between.
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
      const at = index.manifests.findIndex((d) => d.annotations?.[AnnotationRefName] === refName);
      if (at >= 0) index.manifests[at] = entry;
      else index.manifests.push(entry);
      return true;
    }, options);
  }

  /** Removes the entry named `refName` from index.json; NotFoundError when there is none. */
  async removeManifest(refName: string, options: SignalOptions = {}): Promise<Descriptor> {
    let removed: Descriptor | undefined;
    await this.updateIndex((index) => {
      const at = index.manifests.findIndex((d) => d.annotations?.[AnnotationRefName] === refName);
      if (at < 0)
        throw new NotFoundError(`ref ${JSON.stringify(refName)}: not in ${join(this.dir, indexFile)}`);
      [removed] = index.manifests.splice(at, 1);
      return true;
    }, options);
    return removed!;
  }

  /**
   * Read-modify-write of index.json under the index lock: `fn` edits `index` in place and returns
   * whether to write it back. Also the place for anything that must not interleave with tagging.
   */
  async updateIndex(
    fn: (index: Index) => boolean | Promise<boolean>,
    options: SignalOptions = {},
  ): Promise<void> {
    await withIndexLock(join(this.dir, `${indexFile}.lock`), options.signal, async () => {
      const index = await this.readIndex();
      if (await fn(index)) await replaceFile(this.dir, indexFile, JSON.stringify(index));
    });
  }
}
