// The content roles as plain data and small interfaces (design.md example 1, after containerd's
// core/content/content.go): helpers take the narrowest one — a manifest reader a Provider, a fetcher
// an Ingester, the image builder a BlobWriter, garbage collection a Manager.

import type { Readable } from 'node:stream';
import type { Descriptor, Digest } from '../oci/image/index.ts';

/** The content address of a blob: what writeBlob returns and what it can be asked to verify. */
export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** What a written blob must match. `size` is optional: when known it also stops runaway streams early. */
export interface ExpectedBlob {
  digest: Digest;
  size?: number;
}

export interface SignalOptions {
  signal?: AbortSignal;
}

/** Bytes for writeBlob: a Node Readable, any async iterable of chunks, or one buffer. */
export type BlobSource = AsyncIterable<Uint8Array> | Uint8Array;

/** The narrow role image builders need: put bytes in, get their content address back. */
export interface BlobWriter {
  writeBlob(source: BlobSource, expected?: ExpectedBlob, options?: SignalOptions): Promise<BlobInfo>;
}

/** A stored blob. */
export interface Info extends BlobInfo {
  /** When its bytes were written (the blob file's mtime; blobs are never modified). */
  createdAt?: Date;
}

export interface ReadOptions {
  /** Start this many bytes into the blob (resuming a copy); at most the blob's size. */
  offset?: number;
}

/** Reads stored blobs. */
export interface Provider {
  /** NotFoundError when the blob is absent. */
  info(digest: Digest): Promise<Info>;
  /** The blob's bytes from `offset`, as stored (not re-verified: use readBytes for documents). */
  readStream(digest: Digest, options?: ReadOptions): Promise<Readable>;
  /**
   * A small document (manifest, index, config) whole and verified against its digest. A blob over
   * `limit` bytes is refused by its size before any byte is read (ResourceExhaustedError).
   */
  readBytes(digest: Digest, limit: number): Promise<Buffer>;
}

/**
 * One ingest in progress: bytes of one expected blob, written in order, resumable after a crash.
 * Exactly one of commit, abort or close ends it; further calls are FailedPreconditionError.
 * `await using w = await store.writer(…)` closes it (keeping the partial data) if neither commit
 * nor abort ran.
 */
export interface ContentWriter extends AsyncDisposable {
  readonly ref: string;
  readonly expected: ExpectedBlob;
  /**
   * Bytes held. Right after writer() it is what an earlier, interrupted ingest of the same ref kept
   * (re-hashed and trusted): fetch the rest from here (HTTP `Range: bytes=<offset>-`). When it equals
   * expected.size, just commit. It grows with each write.
   */
  readonly offset: number;
  /**
   * The bytes held, 0 to `offset` as it is at the call (call it before writing more): a resumed
   * ingest's earlier data, to replay into a consumer that unpacks while downloading.
   */
  readHeld(): Readable;
  /** Appends and hashes `chunk`. More bytes than expected.size: DataLossError, the ingest is deleted. */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Verifies size and digest, then publishes the blob atomically and deletes the ingest. On a mismatch
   * the ingest is deleted and DataLossError names the expected and actual digest. If another writer
   * stored the same blob meanwhile, commit succeeds (the bytes are identical by their digest).
   */
  commit(): Promise<BlobInfo>;
  /** Deletes the ingest and its data. */
  abort(): Promise<void>;
  /** Keeps the partial data (fsynced) for a later writer of the same ref to resume, and unlocks it. */
  close(): Promise<void>;
}

export interface WriterOptions extends SignalOptions {
  /**
   * How long to wait while another writer (this process or another) holds the ingest of this ref;
   * 0 (the default) fails at once with UnavailableError naming the holder's pid.
   */
  waitMs?: number;
}

/** Writes blobs through resumable ingests. */
export interface Ingester {
  /**
   * Opens (or resumes) the ingest `ref` for the blob `expected`. `ref` is any string naming the
   * download (containerd uses `layer-<digest>`); writers of one ref are exclusive. When the blob is
   * already stored this throws AlreadyExistsError: the caller skips the download.
   */
  writer(ref: string, expected: ExpectedBlob, options?: WriterOptions): Promise<ContentWriter>;
}

/** A partial ingest on disk (`berth content ls`-style status, containerd's content.Status). */
export interface IngestStatus {
  ref: string;
  /** Bytes held in its data file. */
  offset: number;
  expected: ExpectedBlob | undefined;
  startedAt: Date | undefined;
  updatedAt: Date | undefined;
  /** The pid of the live writer holding it, if any. */
  lockedBy: number | undefined;
}

export interface CorruptBlob {
  digest: Digest;
  size: number;
  /** The digest its bytes have now. */
  actual: Digest;
}

export interface VerifyReport {
  checked: number;
  corrupt: CorruptBlob[];
}

/** Lists, deletes and checks what is stored. */
export interface Manager {
  /** Every stored blob, walked lazily. */
  walk(): AsyncIterable<Info>;
  list(): Promise<Info[]>;
  /** NotFoundError when absent; FailedPreconditionError while an image in index.json names it. */
  delete(digest: Digest, options?: SignalOptions): Promise<void>;
  /** Re-hashes every blob and reports those whose bytes no longer match their name. */
  verify(options?: SignalOptions): Promise<VerifyReport>;
  ingests(): Promise<IngestStatus[]>;
  /** Deletes the partial ingest `ref` (UnavailableError while a live writer holds it). */
  abortIngest(ref: string, options?: WriterOptions): Promise<void>;
}

/** An image named in index.json (its `org.opencontainers.image.ref.name` annotation). */
export interface ImageEntry {
  name: string;
  descriptor: Descriptor;
}

/** The store's index.json, which makes `<root>/content` readable as `oci:<root>/content:<name>`. */
export interface ImageIndex {
  /** Names `descriptor` (a stored manifest or index) `name`, replacing an image of that name. */
  setImage(name: string, descriptor: Descriptor, options?: SignalOptions): Promise<void>;
  /** NotFoundError when no image has that name. Its blobs stay (garbage collection removes them). */
  removeImage(name: string, options?: SignalOptions): Promise<void>;
  images(): Promise<ImageEntry[]>;
}

/** All roles together: what ContentStore implements. */
export interface Store extends Provider, Ingester, Manager, BlobWriter, ImageIndex {}
