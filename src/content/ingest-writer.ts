// A resumable, exclusive writer of one blob (the ContentWriter contract is in types.ts). Bytes are
// hashed as they are written, so commit costs an fsync and a link, not a second read.
//
// Resume: node's crypto Hash state cannot be saved, so a writer opened on a partial ingest re-reads
// and re-hashes the bytes held (at disk speed, far faster than fetching them again) and reports their
// count as `offset`. Those bytes are trusted only as far as the final digest check: a torn or
// tampered partial file fails commit with DataLossError like any corrupt download.

import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { constants, type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError } from '../errdefs/index.ts';
import { type Digest, formatDigest } from '../oci/image/index.ts';
import { exists } from './atomic-file.ts';
import { algorithmFor, checkAborted, checkContent, checkOverrun } from './blob-check.ts';
import {
  dataFile,
  ingestDirFor,
  readMeta,
  removeIngestDir,
  touchUpdated,
  writeNewMeta,
} from './ingest-files.ts';
import { type IngestLock, lockIngest } from './ingest-lock.ts';
import type { OciLayout } from './layout.ts';
import type { BlobInfo, ContentWriter, ExpectedBlob, WriterOptions } from './types.ts';

/** Opens the ingest `ref` under `ingestRoot` for `expected`, resuming what it holds (see Ingester.writer). */
export async function openWriter(
  layout: OciLayout,
  ingestRoot: string,
  ref: string,
  expected: ExpectedBlob,
  options: WriterOptions = {},
): Promise<ContentWriter> {
  if (ref === '') throw new InvalidArgumentError('ingest ref: must not be empty');
  const algorithm = algorithmFor(expected);
  if (expected.size !== undefined && !(Number.isSafeInteger(expected.size) && expected.size >= 0))
    throw new InvalidArgumentError(
      `blob ${expected.digest}: expected size ${expected.size} is not a byte count`,
    );
  const present = () => exists(layout.blobPath(expected.digest));
  if (await present()) throw alreadyExists(expected.digest);
  const dir = ingestDirFor(ingestRoot, ref);
  const lock = await lockIngest(dir, ref, options);
  let fh: FileHandle | undefined;
  try {
    // Race handled: another writer (of another ref) may have committed this blob while we waited for
    // the lock. Our partial data is then useless: drop it.
    if (await present()) {
      await removeIngestDir(ingestRoot, dir);
      throw alreadyExists(expected.digest);
    }
    const meta = await readMeta(dir);
    if (meta.ref !== undefined && meta.ref !== ref)
      throw new FailedPreconditionError(
        `ingest ${dir}: holds ref ${JSON.stringify(meta.ref)}, not ${JSON.stringify(ref)}`,
      );
    // Partial bytes of another blob (the ref was reused for a new digest) cannot be resumed.
    const fresh =
      meta.ref === undefined ||
      meta.expected?.digest !== expected.digest ||
      meta.expected.size !== expected.size;
    const flags = constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW;
    fh = await open(join(dir, dataFile), flags, 0o644);
    if (fresh) await fh.truncate(0);
    let hash = createHash(algorithm);
    let offset = await rehash(fh, hash);
    if (expected.size !== undefined && offset > expected.size) {
      // More bytes than the blob has: not a prefix of it. Start over rather than fail forever.
      await fh.truncate(0);
      hash = createHash(algorithm);
      offset = 0;
    }
    if (fresh) await writeNewMeta(dir, ref, expected);
    await touchUpdated(dir);
    return new IngestWriter({ layout, ingestRoot, dir, ref, expected, lock, fh, hash, offset, options });
  } catch (err) {
    await fh?.close();
    await lock.release();
    throw err;
  }
}

/** Feeds the file's bytes to `hash`; returns their count. */
async function rehash(fh: FileHandle, hash: Hash): Promise<number> {
  let offset = 0;
  for await (const chunk of fh.createReadStream({ start: 0, autoClose: false })) {
    hash.update(chunk as Buffer);
    offset += (chunk as Buffer).byteLength;
  }
  return offset;
}

function alreadyExists(digest: Digest): AlreadyExistsError {
  return new AlreadyExistsError(`blob ${digest}: already in the content store`);
}

interface WriterState {
  layout: OciLayout;
  ingestRoot: string;
  dir: string;
  ref: string;
  expected: ExpectedBlob;
  lock: IngestLock;
  fh: FileHandle;
  hash: Hash;
  offset: number;
  options: WriterOptions;
}

class IngestWriter implements ContentWriter {
  readonly ref: string;
  readonly expected: ExpectedBlob;
  #s: WriterState;
  #offset: number;
  #ended: 'committed' | 'aborted' | 'closed' | undefined;
  // Calls run one after another even when a caller does not await each write: the file position and
  // the hash must see the chunks in the order they were given.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(state: WriterState) {
    this.#s = state;
    this.ref = state.ref;
    this.expected = state.expected;
    this.#offset = state.offset;
  }

  get offset(): number {
    return this.#offset;
  }

  readHeld(): Readable {
    if (this.#ended !== undefined)
      throw new FailedPreconditionError(`ingest ${JSON.stringify(this.ref)}: writer already ${this.#ended}`);
    if (this.#offset === 0) return Readable.from([]);
    // A second descriptor on the same file: the writer's own handle keeps its explicit positions, and
    // the lock we hold means nobody else changes the first `offset` bytes.
    return createReadStream(join(this.#s.dir, dataFile), { start: 0, end: this.#offset - 1 });
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.#serial(async () => {
      checkAborted(this.#s.options.signal, `ingest ${this.ref}`);
      try {
        checkOverrun(this.expected, this.#offset + chunk.byteLength, ` (ingest ${this.ref})`);
      } catch (err) {
        await this.#remove('aborted');
        throw err;
      }
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await this.#s.fh.write(
          chunk,
          done,
          chunk.byteLength - done,
          this.#offset + done,
        );
        done += bytesWritten;
      }
      this.#s.hash.update(chunk);
      this.#offset += chunk.byteLength;
    });
  }

  commit(): Promise<BlobInfo> {
    return this.#serial(async () => {
      const { fh, hash, layout, dir } = this.#s;
      // A write that failed half-way may have left bytes past the offset; they are not hashed.
      await fh.truncate(this.#offset);
      await fh.sync();
      const actual: BlobInfo = {
        digest: formatDigest(algorithmFor(this.expected), hash.digest('hex')),
        size: this.#offset,
      };
      try {
        checkContent(this.expected, actual, ` (ingest ${this.ref})`);
      } catch (err) {
        await this.#remove('aborted');
        throw err;
      }
      // A second committer of the same blob (another ref) finds it placed and succeeds: same bytes.
      await layout.placeBlob(join(dir, dataFile), actual.digest);
      await this.#remove('committed');
      return actual;
    });
  }

  abort(): Promise<void> {
    return this.#serial(() => this.#remove('aborted'));
  }

  close(): Promise<void> {
    return this.#serial(async () => {
      this.#ended = 'closed';
      try {
        // Cut what a failed write left past the offset, so a resumer hashes exactly what we did.
        await this.#s.fh.truncate(this.#offset);
        await this.#s.fh.sync();
        await this.#s.fh.close();
        await touchUpdated(this.#s.dir);
      } finally {
        await this.#s.lock.release();
      }
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#queue;
    if (this.#ended === undefined) await this.close();
  }

  /** Closes the data file and deletes the ingest directory, lock included. */
  async #remove(how: 'committed' | 'aborted'): Promise<void> {
    this.#ended = how;
    try {
      await this.#s.fh.close();
    } finally {
      await removeIngestDir(this.#s.ingestRoot, this.#s.dir);
    }
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#ended !== undefined)
        throw new FailedPreconditionError(
          `ingest ${JSON.stringify(this.ref)}: writer already ${this.#ended}`,
        );
      return fn();
    });
    // The queue goes on after a failed call; the caller sees the failure through `run`.
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
