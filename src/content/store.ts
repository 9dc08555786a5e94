// berth's content store (issue "Images", section "Content store"): every blob berth has pulled or
// built, by digest, plus the partial downloads in progress.
//
//   <root>/content/                 an OCI image layout (image-spec image-layout.md), so that
//     oci-layout, index.json          `skopeo copy oci:<root>/content:<image name> …` reads it
//     blobs/sha256/<hex>            committed blobs (OciLayout)
//     ingest/<sha256 of ref>/       partial ingests (ingest-files.ts), one locked writer each
//
// The store composes an OciLayout: blob placement, verified reads, index.json and its lock are the
// layout's; the store adds resumable ingests, walking, verification and deletion. index.json lists
// each image by its full name (`org.opencontainers.image.ref.name` = `127.0.0.1:5000/foo:latest`).

import { mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { FailedPreconditionError, InvalidArgumentError, isErrno, NotFoundError } from '../errdefs/index.ts';
import { AnnotationRefName, type Descriptor, type Digest } from '../oci/image/index.ts';
import { exists } from './atomic-file.ts';
import { verifyBlobs, walkBlobs } from './blob-walk.ts';
import { ingestDirFor, ingestDirName, readStatus, removeIngestDir } from './ingest-files.ts';
import { lockIngest } from './ingest-lock.ts';
import { openWriter } from './ingest-writer.ts';
import { OciLayout } from './layout.ts';
import type {
  BlobInfo,
  BlobSource,
  ContentWriter,
  ExpectedBlob,
  ImageEntry,
  Info,
  IngestStatus,
  ReadOptions,
  SignalOptions,
  Store,
  VerifyReport,
  WriterOptions,
} from './types.ts';

/** The content store's directory under berth's root (config `root`). */
export function contentStoreDir(root: string): string {
  return join(root, 'content');
}

export class ContentStore implements Store {
  readonly layout: OciLayout;
  readonly ingestRoot: string;

  private constructor(layout: OciLayout) {
    this.layout = layout;
    this.ingestRoot = join(layout.dir, ingestDirName);
  }

  /** Creates the store in `dir` (`<root>/content`), or opens the one there. */
  static async create(dir: string): Promise<ContentStore> {
    const layout = await OciLayout.create(dir);
    await mkdir(join(dir, ingestDirName), { recursive: true });
    return new ContentStore(layout);
  }

  /** Opens an existing store: NotFoundError when `dir` is not one. */
  static async open(dir: string): Promise<ContentStore> {
    return new ContentStore(await OciLayout.open(dir));
  }

  get dir(): string {
    return this.layout.dir;
  }

  blobPath(digest: Digest): string {
    return this.layout.blobPath(digest);
  }

  // Provider

  async info(digest: Digest): Promise<Info> {
    try {
      const st = await stat(this.blobPath(digest));
      return { digest, size: st.size, createdAt: st.mtime };
    } catch (err) {
      if (isErrno(err, 'ENOENT'))
        throw new NotFoundError(`blob ${digest}: not in the content store ${this.dir}`, { cause: err });
      throw err;
    }
  }

  async readStream(digest: Digest, options: ReadOptions = {}): Promise<Readable> {
    const { offset = 0 } = options;
    const fh = await open(this.blobPath(digest), 'r').catch((err: unknown) => {
      if (isErrno(err, 'ENOENT'))
        throw new NotFoundError(`blob ${digest}: not in the content store ${this.dir}`, { cause: err });
      throw err;
    });
    const { size } = await fh.stat();
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) {
      await fh.close();
      throw new InvalidArgumentError(`blob ${digest}: offset ${offset} is outside its ${size} bytes`);
    }
    // The stream owns the handle from here and closes it at its end or when destroyed.
    return fh.createReadStream({ start: offset });
  }

  readBytes(digest: Digest, limit: number): Promise<Buffer> {
    return this.layout.readBlob(digest, limit);
  }

  // Ingester and BlobWriter

  writer(ref: string, expected: ExpectedBlob, options: WriterOptions = {}): Promise<ContentWriter> {
    return openWriter(this.layout, this.ingestRoot, ref, expected, options);
  }

  /**
   * One-shot write (the image builder's role): streams through a temp file in the store directory
   * and publishes the blob when it verifies. Not resumable; for downloads use writer().
   */
  writeBlob(source: BlobSource, expected?: ExpectedBlob, options?: SignalOptions): Promise<BlobInfo> {
    return this.layout.writeBlob(source, expected, options);
  }

  // Manager

  walk(): AsyncIterable<Info> {
    return walkBlobs(this.dir);
  }

  async list(): Promise<Info[]> {
    const all: Info[] = [];
    for await (const info of this.walk()) all.push(info);
    return all;
  }

  async delete(digest: Digest, options: SignalOptions = {}): Promise<void> {
    const path = this.blobPath(digest);
    // Under the index lock, so that setImage cannot name the blob between our check and the unlink
    // (it checks that the blob exists under the same lock). Only images named in index.json are
    // checked; blobs they reference are the garbage collector's business (metadata labels).
    await this.layout.updateIndex(async (index) => {
      const names = index.manifests
        .filter((d) => d.digest === digest)
        .map((d) => JSON.stringify(d.annotations?.[AnnotationRefName] ?? ''));
      if (names.length > 0) {
        throw new FailedPreconditionError(`blob ${digest}: image ${names.join(', ')} points to it`, {
          hint: 'remove the image first',
        });
      }
      try {
        await unlink(path);
      } catch (err) {
        if (isErrno(err, 'ENOENT'))
          throw new NotFoundError(`blob ${digest}: not in the content store ${this.dir}`, { cause: err });
        throw err;
      }
      return false;
    }, options);
  }

  verify(options: SignalOptions = {}): Promise<VerifyReport> {
    return verifyBlobs(this.dir, options.signal);
  }

  async ingests(): Promise<IngestStatus[]> {
    let names: string[];
    try {
      names = await readdir(this.ingestRoot);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
    // Dot names are ingests being deleted (ingest-files.ts removeIngestDir).
    const all = await Promise.all(
      names.filter((n) => !n.startsWith('.')).map((n) => readStatus(join(this.ingestRoot, n))),
    );
    return all.filter((s) => s !== undefined).sort((a, b) => a.ref.localeCompare(b.ref));
  }

  async abortIngest(ref: string, options: WriterOptions = {}): Promise<void> {
    const dir = ingestDirFor(this.ingestRoot, ref);
    if (!(await exists(dir)))
      throw new NotFoundError(`ingest ${JSON.stringify(ref)}: not in ${this.ingestRoot}`);
    // Taking the lock first: deleting under a live writer would leave it writing into a removed file.
    await lockIngest(dir, ref, options);
    await removeIngestDir(this.ingestRoot, dir);
  }

  // ImageIndex

  setImage(name: string, descriptor: Descriptor, options?: SignalOptions): Promise<void> {
    return this.layout.addManifest(descriptor, name, options);
  }

  async removeImage(name: string, options?: SignalOptions): Promise<void> {
    await this.layout.removeManifest(name, options);
  }

  async images(): Promise<ImageEntry[]> {
    const { manifests } = await this.layout.readIndex();
    return manifests.flatMap((descriptor) => {
      const name = descriptor.annotations?.[AnnotationRefName];
      return name === undefined ? [] : [{ name, descriptor }];
    });
  }
}
