// One layer being applied inside an unpack worker, synchronously as its bytes arrive: each chunk is
// hashed (digest), decompressed, hashed again (diffID), parsed and applied before the next is taken,
// so nothing piles up inside the worker and the main thread's flow control counts exactly the
// bytes not yet applied. Messages out: `ack` per chunk, then `done` or one `error` (or `aborted`).

import { createHash, type Hash } from 'node:crypto';
import { DataLossError } from '../errdefs/index.ts';
import { CorruptInputError, createDecompressor, type Decompressor } from './decompress.ts';
import { LayerApplier } from './layer-applier.ts';
import { paxMetadata } from './pax.ts';
import { TarReader } from './tar-reader.ts';
import type { ApplyLayerResult } from './types.ts';
import { type FromWorker, toWire, type WorkerInput } from './wire.ts';

export class LayerJob {
  /** True once the last message (done, error, aborted) is posted. */
  finished = false;
  readonly #input: WorkerInput;
  readonly #post: (msg: FromWorker, transfer?: ArrayBuffer[]) => void;
  readonly #compressedHash: Hash;
  readonly #diffHash: Hash;
  readonly #decompressor: Decompressor;
  readonly #applier: LayerApplier;
  readonly #tar: TarReader;
  #size = 0;
  #uncompressedSize = 0;
  /**
   * Corrupt bytes usually show first as bad gzip/zstd data or a broken tar header, long before the
   * end of the blob. But "the bytes are not the blob" is the diagnosis the user needs (the registry
   * or a proxy served something else): so when a digest was given, stop applying, keep hashing the
   * rest of the input, and at its end report the digest mismatch (naming both digests) with the
   * parse error as cause; only a blob whose digest does match is reported as corrupt by itself.
   */
  #draining: DataLossError | undefined;
  readonly #onPiece = (piece: Buffer): void => {
    this.#diffHash.update(piece);
    this.#uncompressedSize += piece.length;
    this.#tar.push(piece);
  };

  constructor(input: WorkerInput, post: (msg: FromWorker, transfer?: ArrayBuffer[]) => void) {
    this.#input = input;
    this.#post = post;
    this.#compressedHash = createHash(input.digestAlgorithm);
    this.#diffHash = createHash(input.diffIDAlgorithm);
    this.#decompressor = createDecompressor(input.compression);
    this.#applier = new LayerApplier({
      root: input.root,
      whiteouts: input.whiteouts,
      sameOwner: input.sameOwner,
      devices: input.devices,
    });
    this.#tar = new TarReader((header, pax) => this.#applier.begin(header, paxMetadata(pax, header.name)));
  }

  chunk(data: Uint8Array): void {
    if (this.finished) return;
    const input = this.#input;
    this.#compressedHash.update(data);
    this.#size += data.byteLength;
    if (input.size !== undefined && this.#size > input.size) {
      const longer = `layer ${input.digest ?? ''} is longer than its descriptor's size ${input.size}`;
      const cause = this.#draining;
      this.#stop({
        type: 'error',
        error: toWire(new DataLossError(longer, cause === undefined ? {} : { cause })),
      });
      return;
    }
    if (this.#draining === undefined) {
      try {
        this.#decompress(() => this.#decompressor.write(data, this.#onPiece));
      } catch (err) {
        this.#fail(err);
        if (this.finished) return;
      }
    }
    // Nothing here holds on to `data` (the decompressor and the tar reader copy what they keep), so
    // its buffer goes back with the ack and the main thread fills it again instead of allocating.
    const buffer = data.buffer as ArrayBuffer;
    this.#post({ type: 'ack', bytes: data.byteLength, buffer }, [buffer]);
  }

  end(): void {
    if (this.finished) return;
    if (this.#draining !== undefined) {
      this.#endDrain(this.#draining);
      return;
    }
    try {
      this.#decompress(() => this.#decompressor.end(this.#onPiece));
    } catch (err) {
      this.#fail(err);
      if (this.#draining !== undefined) this.#endDrain(this.#draining);
      return;
    }
    try {
      this.#finish(this.#verify());
    } catch (err) {
      // Not #fail(): every byte is hashed and #verify() checked the digest first; nothing to drain.
      this.#stop({ type: 'error', error: toWire(err) });
    }
  }

  abort(): void {
    this.#stop({ type: 'aborted' });
  }

  /** Runs a decompressor call; an engine error is the blob's bytes being bad (DataLoss). */
  #decompress(call: () => void): void {
    try {
      call();
    } catch (err) {
      if (!(err instanceof CorruptInputError)) throw err;
      throw new DataLossError(
        `layer ${this.#input.digest ?? ''}: corrupt ${this.#input.compression} data: ${err.message}`,
        { cause: err },
      );
    }
  }

  #fail(err: unknown): void {
    if (this.#input.digest !== undefined && err instanceof DataLossError) {
      // Keep hashing: the digest decides at the end which error the caller sees.
      this.#draining = err;
      this.#applier.abort();
      return;
    }
    this.#stop({ type: 'error', error: toWire(err) });
  }

  #endDrain(cause: DataLossError): void {
    const input = this.#input;
    const what = `layer ${input.digest ?? ''}`;
    const digest = `${input.digestAlgorithm}:${this.#compressedHash.digest('hex')}`;
    let err: DataLossError = cause;
    if (input.size !== undefined && this.#size !== input.size) {
      err = new DataLossError(`${what}: size mismatch: expected ${input.size} bytes, read ${this.#size}`, {
        cause,
      });
    } else if (digest !== input.digest) {
      err = new DataLossError(`${what}: digest mismatch: expected ${input.digest}, got ${digest}`, { cause });
    }
    this.#stop({ type: 'error', error: toWire(err) });
  }

  /** End of stream: sizes and digests first (a corrupt blob is best named by them), then the tar's end. */
  #verify(): ApplyLayerResult {
    const input = this.#input;
    const what = `layer ${input.digest ?? '(no digest given)'}`;
    if (input.size !== undefined && this.#size !== input.size) {
      throw new DataLossError(`${what}: size mismatch: expected ${input.size} bytes, read ${this.#size}`);
    }
    const digest = `${input.digestAlgorithm}:${this.#compressedHash.digest('hex')}`;
    if (input.digest !== undefined && digest !== input.digest) {
      throw new DataLossError(`${what}: digest mismatch: expected ${input.digest}, got ${digest}`);
    }
    const diffID = `${input.diffIDAlgorithm}:${this.#diffHash.digest('hex')}`;
    if (input.diffID !== undefined && diffID !== input.diffID) {
      throw new DataLossError(`${what}: diffID mismatch: expected ${input.diffID}, got ${diffID}`);
    }
    this.#tar.finish();
    this.#applier.finish();
    return {
      digest,
      diffID,
      size: this.#size,
      uncompressedSize: this.#uncompressedSize,
      entries: this.#tar.entries,
    };
  }

  #finish(result: ApplyLayerResult): void {
    this.finished = true;
    this.#post({ type: 'done', result });
  }

  /** Closes the open file and sends the last message. */
  #stop(last: FromWorker): void {
    if (this.finished) return;
    this.finished = true;
    this.#applier.abort();
    this.#post(last);
  }
}
