// Writes one layer blob in a single pass over the data: tar → (sha256 = diffID) → compressor →
// blob writer (sha256 = digest, size). Nothing is buffered whole, so layers of any size work, and the
// tar is never written to disk uncompressed.

import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobWriter } from '../content/index.ts';
import { CanceledError, isErrno } from '../errdefs/index.ts';
import { formatDigest } from '../oci/image/index.ts';
import { compressor } from './compress.ts';
import { planEntries, reproducibleEpoch } from './entries.ts';
import { packLayer } from './tar.ts';
import type { BuiltLayer, LayerEntry, LayerOptions } from './types.ts';

/** Builds a layer tar from `entries` and stores it compressed through `writer`. */
export async function writeLayer(
  writer: BlobWriter,
  entries: readonly LayerEntry[],
  options: LayerOptions = {},
): Promise<BuiltLayer> {
  const compression = options.compression ?? 'gzip';
  const { signal } = options;
  // An already-aborted signal stops before any stream exists: destroying a pack that has just begun
  // reading a host file let its AbortError surface after the caller had moved on (seen in CI).
  if (signal?.aborted) throw new CanceledError('writing a layer: canceled', { cause: signal.reason });
  // Validation and compressor set-up throw here, before any stream exists.
  const planned = planEntries(entries, options.mtime ?? reproducibleEpoch);
  const compress = compressor(compression, options.level);
  const diff = createHash('sha256');
  const diffTap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      diff.update(chunk);
      callback(null, chunk);
    },
  });
  const tar = packLayer(planned);
  // The blob writer reads the compressor's output while the pipeline feeds its input. allSettled,
  // not all: on failure we return only after both sides stopped (the writer removed its temp file).
  const [piped, written] = await Promise.allSettled([
    signal ? pipeline(tar, diffTap, compress, { signal }) : pipeline(tar, diffTap, compress),
    writer.writeBlob(compress, undefined, signal ? { signal } : {}).catch((err: unknown) => {
      // Stop the producer: a writer that gave up reading would otherwise leave the pipeline waiting.
      compress.destroy(err instanceof Error ? err : undefined);
      throw err;
    }),
  ]);
  if ((piped.status === 'rejected' || written.status === 'rejected') && signal?.aborted) {
    throw new CanceledError('writing a layer: canceled', { cause: signal.reason });
  }
  // Usually the pipeline's error is the cause (a missing host file) and the writer saw the same
  // error on its source. When the writer failed first (disk full), the pipeline only saw its output
  // stream closed early (premature close, or AbortError from the writer's for-await exit).
  if (written.status === 'rejected' && (piped.status === 'fulfilled' || isEcho(piped.reason))) {
    throw written.reason;
  }
  if (piped.status === 'rejected') throw piped.reason;
  if (written.status === 'rejected') throw written.reason;
  const layer: BuiltLayer = {
    digest: written.value.digest,
    size: written.value.size,
    diffId: formatDigest('sha256', diff.digest('hex')),
    compression,
  };
  if (options.createdBy !== undefined) layer.createdBy = options.createdBy;
  return layer;
}

function isEcho(err: unknown): boolean {
  return isErrno(err, 'ERR_STREAM_PREMATURE_CLOSE') || (err instanceof Error && err.name === 'AbortError');
}
