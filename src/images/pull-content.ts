// What a pull needs from the content store, as one narrow interface (design.md example 1). The
// image service adapts the real store to it; tests can see at a glance what a pull touches.
import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci/image/index.ts';

export interface LayerIngest {
  /** Bytes already held from an earlier, interrupted pull of this blob (0 when starting afresh). */
  readonly offset: number;
  /** The bytes held so far, to replay into the unpacker before the rest arrives. */
  held(): Readable;
  write(chunk: Uint8Array): Promise<void>;
  /** Verifies size and digest, then makes the blob visible. */
  commit(): Promise<void>;
  /** Deletes the partial data (after a verification failure). */
  abort(): Promise<void>;
  /** Keeps the partial data for a later resume (after a network failure or cancel). */
  close(): Promise<void>;
}

export interface PullContent {
  has(digest: string): Promise<boolean>;
  read(digest: string): Readable;
  readBytes(digest: string, limit: number): Promise<Buffer>;
  /** Stores a small document (manifest, index, config) already verified by its fetcher. */
  put(desc: Descriptor, bytes: Uint8Array): Promise<void>;
  ingest(desc: Descriptor): Promise<LayerIngest>;
  /** Keeps the store's OCI layout index.json in step with the image table. */
  setImage(name: string, target: Descriptor): Promise<void>;
  removeImage(name: string): Promise<void>;
}
