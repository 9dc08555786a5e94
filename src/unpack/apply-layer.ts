// The main-thread half of applyLayer: validates the request, takes a worker from the pool, feeds it
// the input with bounded memory, and turns its answer (or an abort) into the result or an errdefs error.

import { statSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import {
  CanceledError,
  InternalError,
  InvalidArgumentError,
  isBerthError,
  isErrno,
  NotFoundError,
  UnavailableError,
} from '../errdefs/index.ts';
import { parseDigest } from '../oci/image/index.ts';
import { layerCompression } from './media.ts';
import type { ApplyLayerOptions, ApplyLayerResult } from './types.ts';
import { type FromWorker, fromWire, type ToWorker, type WorkerInput } from './wire.ts';
import { WorkerPool } from './worker-pool.ts';

const pool = new WorkerPool();

/** Bytes posted to the worker and not yet applied by it (acked per chunk): input pauses above high. */
const inFlightHigh = 4 * 1024 * 1024;
const inFlightLow = 1024 * 1024;
/**
 * Input that is not handed over (transferInput) is copied into buffers of this size, each then
 * transferred: one message (and one ack, one decompressor call) per 256 KiB instead of per chunk.
 */
const messageBytes = 256 * 1024;
/**
 * On abort the worker is asked to stop first, so that it closes the file it is writing (fds are
 * per process: terminating the thread would leak it); it answers between two chunks. If it does
 * not answer in time it is terminated anyway.
 */
const abortGraceMs = 1000;

export async function applyLayer(input: Readable, opts: ApplyLayerOptions): Promise<ApplyLayerResult> {
  const compression = layerCompression(opts.mediaType);
  const digestAlgorithm =
    opts.digest === undefined ? 'sha256' : parseDigest(opts.digest, 'layer digest').algorithm;
  const diffIDAlgorithm =
    opts.diffID === undefined ? 'sha256' : parseDigest(opts.diffID, 'layer diffID').algorithm;
  if (opts.size !== undefined && !(Number.isSafeInteger(opts.size) && opts.size >= 0)) {
    throw new InvalidArgumentError(`layer size ${opts.size}: not a byte count`);
  }
  if (opts.whiteouts !== 'overlay' && opts.whiteouts !== 'apply') {
    throw new InvalidArgumentError(
      `whiteouts ${JSON.stringify(opts.whiteouts)}: expected 'overlay' or 'apply'`,
    );
  }
  const signal = opts.signal;
  if (signal?.aborted) throw canceled(opts, signal);
  const root = await targetRoot(opts.target);

  const workerData: WorkerInput = {
    root,
    compression,
    whiteouts: opts.whiteouts,
    sameOwner: opts.sameOwner ?? process.geteuid?.() === 0,
    devices: opts.devices ?? true,
    digest: opts.digest,
    digestAlgorithm,
    size: opts.size,
    diffID: opts.diffID,
    diffIDAlgorithm,
  };
  let worker: Worker;
  try {
    worker = await pool.acquire(signal);
  } catch (err) {
    input.destroy();
    throw canceled(opts, signal as AbortSignal, err);
  }
  let reusable = false;
  try {
    worker.postMessage({ type: 'start', input: workerData } satisfies ToWorker);
    const result = await feed(worker, input, opts, signal);
    reusable = true;
    return result;
  } catch (err) {
    input.destroy();
    throw err;
  } finally {
    // A worker whose layer failed is terminated, and once that resolves its thread is gone: no write
    // of this apply happens later. One that finished its layer has made all its writes already.
    await pool.release(worker, reusable);
  }
}

/**
 * Starts unpack workers for `layers` layers about to be applied (as many as cores at most), so that
 * their start-up overlaps whatever the caller does before the first layer's bytes arrive.
 */
applyLayer.warm = (layers: number): void => pool.warm(layers);

/** The target's real path; it must be an existing directory. */
async function targetRoot(target: string): Promise<string> {
  try {
    const root = await realpath(target);
    if (!statSync(root).isDirectory())
      throw new InvalidArgumentError(`unpack target ${target}: not a directory`);
    return root;
  } catch (err) {
    if (isErrno(err, 'ENOENT'))
      throw new NotFoundError(`unpack target ${target}: no such directory`, { cause: err });
    throw err;
  }
}

function canceled(
  opts: ApplyLayerOptions,
  signal: AbortSignal,
  reason: unknown = signal.reason,
): CanceledError {
  return new CanceledError(`applying layer ${opts.digest ?? ''} to ${opts.target}: canceled`, {
    cause: reason,
  });
}

function feed(
  worker: Worker,
  input: Readable,
  opts: ApplyLayerOptions,
  signal: AbortSignal | undefined,
): Promise<ApplyLayerResult> {
  return new Promise<ApplyLayerResult>((resolve, reject) => {
    let inFlight = 0;
    let settled = false;
    const send = (msg: ToWorker, transfer: ArrayBuffer[] = []): void => worker.postMessage(msg, transfer);
    const finish = (err: Error | undefined, result?: ApplyLayerResult): void => {
      if (settled) return;
      settled = true;
      input.off('data', onData).off('end', onEnd).off('error', onInputError);
      worker.off('message', onMessage).off('error', onWorkerError).off('exit', onExit);
      signal?.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(err);
      else resolve(result!);
    };
    const transfer = opts.transferInput === true;
    let batch: Uint8Array | undefined;
    let used = 0;
    /** Our own batch buffers, back from the worker (when not transferInput). */
    const spares: ArrayBuffer[] = [];
    const post = (data: Uint8Array): void => {
      inFlight += data.byteLength;
      send({ type: 'chunk', data }, [data.buffer as ArrayBuffer]);
    };
    const postBatch = (): void => {
      if (batch === undefined || used === 0) return;
      post(used === batch.byteLength ? batch : batch.subarray(0, used));
      batch = undefined;
      used = 0;
    };
    const onData = (chunk: Buffer | string): void => {
      if (typeof chunk === 'string') {
        finish(new InvalidArgumentError('layer input stream must yield bytes, not strings'));
        return;
      }
      if (chunk.byteLength === 0) return;
      if (transfer) {
        // The producer gave this buffer up (ApplyLayerOptions.transferInput): moved, not copied.
        post(chunk);
      } else {
        // Chunks are often views of a larger pooled buffer (posting one would clone, or transferred,
        // detach all of it): copied into a buffer of our own, which is then transferred.
        let off = 0;
        while (off < chunk.byteLength) {
          if (batch === undefined) {
            const spare = spares.pop();
            batch = spare === undefined ? Buffer.allocUnsafeSlow(messageBytes) : new Uint8Array(spare);
          }
          const n = Math.min(chunk.byteLength - off, messageBytes - used);
          batch.set(chunk.subarray(off, off + n), used);
          used += n;
          off += n;
          if (used === messageBytes) postBatch();
        }
      }
      if (inFlight > inFlightHigh) input.pause();
    };
    const onEnd = (): void => {
      postBatch();
      send({ type: 'end' });
    };
    const onInputError = (err: Error): void =>
      finish(
        isBerthError(err) ? err : new UnavailableError(`reading layer ${opts.digest ?? ''}`, { cause: err }),
      );
    let aborting = false;
    const onMessage = (msg: FromWorker): void => {
      if (aborting) {
        if (msg.type !== 'ack') finish(canceled(opts, signal!));
      } else if (msg.type === 'ack') {
        inFlight -= msg.bytes;
        if (transfer) opts.returnInput?.(msg.buffer);
        else if (msg.buffer.byteLength === messageBytes) spares.push(msg.buffer);
        if (inFlight < inFlightLow && input.isPaused()) input.resume();
      } else if (msg.type === 'done') {
        finish(undefined, msg.result);
      } else if (msg.type === 'error') {
        finish(fromWire(msg.error));
      }
    };
    const onWorkerError = (err: Error): void =>
      finish(new InternalError(`unpack worker for layer ${opts.digest ?? ''} failed`, { cause: err }));
    const onExit = (code: number): void =>
      aborting
        ? finish(canceled(opts, signal!))
        : finish(
            new InternalError(`unpack worker for layer ${opts.digest ?? ''} exited early (code ${code})`),
          );
    const onAbort = (): void => {
      aborting = true;
      input.pause();
      send({ type: 'abort' });
      setTimeout(() => finish(canceled(opts, signal!)), abortGraceMs).unref();
    };
    worker.on('message', onMessage).on('error', onWorkerError).on('exit', onExit);
    signal?.addEventListener('abort', onAbort, { once: true });
    input.on('data', onData).on('end', onEnd).on('error', onInputError);
  });
}
