// The content roles as plain data and small interfaces (design.md example 1): helpers take the
// narrowest one. The full content store adds Provider/Ingester here next to BlobWriter.

import type { Digest } from '../oci/image/index.ts';

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
