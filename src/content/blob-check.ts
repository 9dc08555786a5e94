// Streaming a blob into a file while hashing it, and the checks every blob write makes before it is
// published (design.md example 9: blobs checked before commit). Shared by OciLayout.writeBlob (one
// pass from a source) and the content store's ingest writers (chunks pushed over time, resumable).

import { createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { CanceledError, DataLossError } from '../errdefs/index.ts';
import { type Digest, type DigestAlgorithm, formatDigest, parseDigest } from '../oci/image/index.ts';
import type { BlobInfo, BlobSource, ExpectedBlob } from './types.ts';

/** The hash algorithm for a write: the expected digest's, sha256 when nothing is expected. */
export function algorithmFor(expected: ExpectedBlob | undefined): DigestAlgorithm {
  return expected ? parseDigest(expected.digest, 'expected digest').algorithm : 'sha256';
}

/** DataLossError as soon as more bytes than the expected size have arrived (stops runaway streams early). */
export function checkOverrun(expected: ExpectedBlob | undefined, size: number, where = ''): void {
  if (expected?.size !== undefined && size > expected.size) {
    throw new DataLossError(
      `blob ${expected.digest}${where}: more than the expected ${expected.size} bytes arrived`,
    );
  }
}

/** DataLossError naming the expected and the actual digest and size when they differ. */
export function checkContent(expected: ExpectedBlob | undefined, actual: BlobInfo, where = ''): void {
  if (!expected) return;
  if (actual.digest !== expected.digest || (expected.size !== undefined && actual.size !== expected.size)) {
    throw new DataLossError(
      `blob ${expected.digest}${where}: content does not match: expected digest ${expected.digest}` +
        ` (size ${expected.size ?? 'any'}), got digest ${actual.digest} (size ${actual.size})`,
    );
  }
}

export function checkAborted(signal: AbortSignal | undefined, what = 'writing a blob'): void {
  if (signal?.aborted) throw new CanceledError(`${what}: canceled`, { cause: signal.reason });
}

/**
 * Streams `source` into the new file `path` (fsynced) while hashing it, and verifies it against
 * `expected`. On failure a stream source is destroyed, so that a producer piping into it does not
 * wait forever for a reader that gave up; the caller removes `path`.
 */
export async function streamToFile(
  path: string,
  source: BlobSource,
  expected: ExpectedBlob | undefined,
  signal: AbortSignal | undefined,
): Promise<BlobInfo> {
  let fh: FileHandle | undefined;
  try {
    const algorithm = algorithmFor(expected);
    checkAborted(signal);
    fh = await open(path, 'wx', 0o644);
    const hash = createHash(algorithm);
    let size = 0;
    for await (const chunk of source instanceof Uint8Array ? [source] : source) {
      checkAborted(signal);
      size += chunk.byteLength;
      checkOverrun(expected, size);
      hash.update(chunk);
      await fh.write(chunk);
    }
    await fh.sync();
    const digest: Digest = formatDigest(algorithm, hash.digest('hex'));
    checkContent(expected, { digest, size });
    return { digest, size };
  } catch (err) {
    destroySource(source, err);
    throw err;
  } finally {
    await fh?.close();
  }
}

function destroySource(source: BlobSource, err: unknown): void {
  const stream = source as { destroy?: unknown; destroyed?: unknown };
  if (typeof stream.destroy === 'function' && stream.destroyed !== true) {
    (stream.destroy as (e: unknown) => void).call(source, err);
  }
}
