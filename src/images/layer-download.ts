// A layer's bytes for unpack-layers.ts: the part of a download an earlier, interrupted pull kept
// in its ingest, then the rest from the layer's source (the registry, for a pull), written to the
// ingest as they pass. Which failures keep a partial download for resuming is decided here too.
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
    for await (const _ of downloadStream(job, layer, ingest)) {
      // downloadStream writes each chunk to the ingest; nothing else wants the bytes
    }
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

/** The layer's bytes from the start: what an interrupted pull held, then the rest from the registry. */
export async function* downloadStream(
  job: LayerJob,
  layer: Descriptor,
  ingest: LayerIngest,
): AsyncGenerator<Uint8Array> {
  let current = 0;
  for await (const chunk of ingest.held()) {
    current += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  if (current === layer.size) return;
  // The fetcher need not verify (pull.ts passes verify: false): the unpacker hashes every byte, held
  // ones included, and the ingest checks again at commit.
  if (job.fetch === undefined) {
    throw new NotFoundError(`${job.name}: layer ${layer.digest} is not in the content store`);
  }
  const remote = await job.fetch(layer, current, job.signal);
  const batch = new IngestBatch(ingest);
  let lastReport = 0;
  try {
    for await (const chunk of remote) {
      const bytes = chunk as Buffer;
      await batch.add(bytes);
      current += bytes.length;
      if (current - lastReport > 256 * 1024 || current === layer.size) {
        lastReport = current;
        job.progress({ id: layer.digest, kind: 'layer', phase: 'downloading', current, total: layer.size });
      }
      yield bytes;
    }
  } catch (err) {
    // What arrived before the failure is worth keeping for the resume; a failing write changes
    // nothing about the error to report.
    await batch.flush().catch(() => undefined);
    throw err;
  }
  await batch.flush();
}

/**
 * Bytes on their way to the ingest, written in batches: one write per network chunk (16–64 KiB)
 * cost the main thread ~0.15 s per 50 MB in promise and fs-request overhead. The batch is one buffer,
 * reused (each write is awaited before the next chunk is copied in), so batching allocates nothing per
 * chunk. It is written before the next chunk is taken once full, so an interrupted pull leaves at
 * most `batchBytes` unwritten (the resume fetches them again).
 */
const batchBytes = 256 * 1024;

class IngestBatch {
  readonly #ingest: LayerIngest;
  #buffer: Buffer | undefined;
  #used = 0;

  constructor(ingest: LayerIngest) {
    this.#ingest = ingest;
  }

  async add(chunk: Buffer): Promise<void> {
    this.#buffer ??= Buffer.allocUnsafeSlow(batchBytes);
    let off = 0;
    while (off < chunk.length) {
      const n = chunk.copy(this.#buffer, this.#used, off);
      off += n;
      this.#used += n;
      if (this.#used === batchBytes) await this.flush();
    }
  }

  async flush(): Promise<void> {
    if (this.#used === 0 || this.#buffer === undefined) return;
    const used = this.#used;
    this.#used = 0;
    await this.#ingest.write(this.#buffer.subarray(0, used));
  }
}
