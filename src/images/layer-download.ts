// A layer's bytes for unpack-layers.ts: the part of a download an earlier, interrupted pull kept
// in its ingest, then the rest from the layer's source (the registry, for a pull), written to the
// ingest as they pass. Which failures keep a partial download for resuming is decided here too.
//
// The bytes travel in batches of `batchBytes`, each a buffer of its own: the network's chunks are
// copied once, into the batch; the batch is written to the ingest and then handed on, and nothing
// here touches it again, so the unpacker may transfer it to its worker thread instead of copying it
// (ApplyLayerOptions.transferInput). Everything is driven by 'data' events: no async iterator,
// no generator, no promise per network chunk (docs/performance.md, Pull).
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  AlreadyExistsError,
  CanceledError,
  DeadlineExceededError,
  NotFoundError,
  UnavailableError,
} from '../errdefs/index.ts';
import type { Descriptor } from '../oci/image/index.ts';
import type { LayerIngest, PullContent } from './pull-content.ts';
import type { LayerJob, UnpackDeps } from './unpack-layers.ts';

/** An ingest for the layer, or undefined when another pull stored the blob since we looked. */
export async function ingestUnlessStored(
  content: PullContent,
  layer: Descriptor,
): Promise<LayerIngest | undefined> {
  try {
    return await content.ingest(layer);
  } catch (err) {
    if (err instanceof AlreadyExistsError) return undefined;
    throw err;
  }
}

export async function storeBlobOnly(deps: UnpackDeps, job: LayerJob, layer: Descriptor): Promise<void> {
  const ingest = await ingestUnlessStored(deps.content, layer);
  if (ingest === undefined) return;
  try {
    // LayerDownload writes each batch to the ingest; nothing else wants the bytes.
    await finished(new LayerDownload(job, layer, ingest).resume());
    await ingest.commit();
  } catch (err) {
    if (isInterruption(err)) await ingest.close();
    else await ingest.abort();
    throw err;
  }
}

/** A transfer cut short, whose bytes so far are worth resuming from. */
export function isInterruption(err: unknown): boolean {
  return (
    err instanceof UnavailableError || err instanceof DeadlineExceededError || err instanceof CanceledError
  );
}

/**
 * Bytes per batch: one ingest write and one message to the unpack worker each. One write per network
 * chunk (16–64 KiB) cost the main thread ~0.15 s per 50 MB in promise and fs-request overhead; one
 * message per chunk cost both threads per-message work.
 */
const batchBytes = 256 * 1024;
/** Batches written to the ingest but not finished: beyond this, reading from the network pauses. */
const maxPendingWrites = 2;

/**
 * The layer's bytes from the start: what an interrupted pull held, then the rest from the layer's
 * source, each remote byte written to the ingest before it is passed on. When the source fails, what
 * arrived is written first (the resume starts after it), then the stream fails with the source's error.
 * When the stream ends, every byte is in the ingest (its commit may follow at once).
 */
export class LayerDownload extends Readable {
  readonly #job: LayerJob;
  readonly #layer: Descriptor;
  readonly #ingest: LayerIngest;
  /** The stream being read: the ingest's held bytes, then the remote. */
  #source: Readable | undefined;
  #batch: Buffer | undefined;
  #used = 0;
  /** Bytes of the layer taken in so far (held and remote). */
  #current = 0;
  #lastReport = 0;
  #pendingWrites = 0;
  /** Writes run one after another, in order; each batch is pushed once written. */
  #writes: Promise<void> = Promise.resolve();
  /** push() said the consumer has enough: the source waits for _read(). */
  #full = false;
  /** Batch buffers the consumer gave back (reuse()), filled again before any new one is allocated. */
  readonly #spares: ArrayBuffer[] = [];

  constructor(job: LayerJob, layer: Descriptor, ingest: LayerIngest) {
    super({ highWaterMark: batchBytes });
    this.#job = job;
    this.#layer = layer;
    this.#ingest = ingest;
    const held = ingest.held();
    this.#source = held;
    held.on('data', (chunk: Buffer) => this.#take(chunk, false));
    held.once('error', (err) => this.#fail(err));
    held.once('end', () => {
      // Held bytes are in the ingest already: their last, partial batch goes on unwritten and the
      // remote's bytes start a batch of their own.
      this.#handOn(false);
      this.#source = undefined;
      void this.#openRemote();
    });
  }

  /**
   * A batch's buffer the consumer is done with (ApplyLayerOptions.returnInput: the unpack worker
   * hands each back after applying it), to be filled again: a layer then allocates about as many
   * batches as are in flight at once (~20), not one per 256 KiB.
   */
  reuse(buffer: ArrayBuffer): void {
    if (buffer.byteLength === batchBytes && !this.destroyed && !this.readableEnded) this.#spares.push(buffer);
  }

  override _read(): void {
    this.#full = false;
    this.#flow();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const source = this.#source;
    this.#source = undefined;
    if (source !== undefined) {
      source.on('error', () => undefined);
      source.destroy();
    }
    callback(err);
  }

  async #openRemote(): Promise<void> {
    const job = this.#job;
    const layer = this.#layer;
    if (this.destroyed) return;
    if (this.#current === layer.size) {
      this.push(null);
      return;
    }
    // The fetcher need not verify (pull.ts passes verify: false): the unpacker hashes every byte, held
    // ones included, and the ingest checks again at commit.
    if (job.fetch === undefined) {
      this.destroy(new NotFoundError(`${job.name}: layer ${layer.digest} is not in the content store`));
      return;
    }
    let remote: Readable;
    try {
      remote = await job.fetch(layer, this.#current, job.signal);
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (this.destroyed) {
      remote.on('error', () => undefined).destroy();
      return;
    }
    this.#source = remote;
    remote.on('data', (chunk: Buffer) => this.#take(chunk, true));
    remote.once('error', (err) => {
      this.#source = undefined;
      // What arrived before the failure is worth keeping for the resume; a failing write changes
      // nothing about the error to report.
      this.#handOn(true, false);
      this.#writes.then(
        () => this.#fail(err),
        () => this.#fail(err),
      );
    });
    remote.once('end', () => {
      this.#source = undefined;
      this.#handOn(true);
      this.#writes.then(
        () => this.push(null),
        () => undefined, // the failed write destroyed the stream
      );
    });
    this.#flow();
  }

  /** Copies a chunk into batches; a full batch is handed on (written first when `write`). */
  #take(chunk: Buffer, write: boolean): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.#batch === undefined) {
        const spare = this.#spares.pop();
        this.#batch = spare === undefined ? Buffer.allocUnsafeSlow(batchBytes) : Buffer.from(spare);
      }
      const n = chunk.copy(this.#batch, this.#used, off);
      off += n;
      this.#used += n;
      if (this.#used === batchBytes) this.#handOn(write);
    }
    this.#current += chunk.length;
    const layer = this.#layer;
    if (write && (this.#current - this.#lastReport > batchBytes || this.#current === layer.size)) {
      this.#lastReport = this.#current;
      this.#job.progress({
        id: layer.digest,
        kind: 'layer',
        phase: 'downloading',
        current: this.#current,
        total: layer.size,
      });
    }
  }

  /** The current batch, if any, goes on: written to the ingest first when `write`, pushed when `push`. */
  #handOn(write: boolean, push = true): void {
    const batch = this.#batch;
    if (batch === undefined || this.#used === 0) return;
    const bytes = this.#used === batch.length ? batch : batch.subarray(0, this.#used);
    this.#batch = undefined;
    this.#used = 0;
    if (!write) {
      if (push) this.#push(bytes);
      return;
    }
    this.#pendingWrites++;
    this.#writes = this.#writes.then(async () => {
      await this.#ingest.write(bytes);
      this.#pendingWrites--;
      if (push) this.#push(bytes);
      this.#flow();
    });
    this.#writes.catch((err: unknown) => this.#fail(err));
    this.#flow();
  }

  #push(bytes: Buffer): void {
    if (this.destroyed) return;
    if (!this.push(bytes)) this.#full = true;
  }

  /** Pauses the source while the consumer or the ingest is behind, resumes it when both caught up. */
  #flow(): void {
    const source = this.#source;
    if (source === undefined) return;
    if (this.#full || this.#pendingWrites >= maxPendingWrites) source.pause();
    else source.resume();
  }

  #fail(err: unknown): void {
    if (!this.destroyed) this.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}
