// Walking and re-checking the blobs of a layout: list, `berth content ls` and `berth content verify`.
// Files in blobs/<alg>/ that are not a canonical digest (a stray temp file, a person's backup copy)
// are not blobs and are skipped; so is a blob deleted while the walk runs.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../errdefs/index.ts';
import { type Digest, type DigestAlgorithm, formatDigest, isDigest } from '../oci/image/index.ts';
import { checkAborted } from './blob-check.ts';
import type { CorruptBlob, Info, VerifyReport } from './types.ts';

const algorithms: readonly DigestAlgorithm[] = ['sha256', 'sha512'];

/** Every blob under `<layoutDir>/blobs`, in name order per algorithm. */
export async function* walkBlobs(layoutDir: string): AsyncGenerator<Info> {
  for (const algorithm of algorithms) {
    const dir = join(layoutDir, 'blobs', algorithm);
    for (const name of (await listDir(dir)).sort()) {
      const digest = formatDigest(algorithm, name);
      if (!isDigest(digest)) continue;
      try {
        const st = await stat(join(dir, name));
        if (st.isFile()) yield { digest, size: st.size, createdAt: st.mtime };
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
  }
}

/** Blobs re-hashed at once: enough to keep a disk busy, few enough not to starve other work. */
export const verifyConcurrency = 4;

/** Re-hashes every blob; those whose bytes do not match their name are reported corrupt. */
export async function verifyBlobs(layoutDir: string, signal?: AbortSignal): Promise<VerifyReport> {
  const blobs = walkBlobs(layoutDir);
  const corrupt: CorruptBlob[] = [];
  let checked = 0;
  const worker = async (): Promise<void> => {
    // Workers share one generator: each next() hands out a different blob.
    for (let r = await blobs.next(); !r.done; r = await blobs.next()) {
      checkAborted(signal, 'verifying the content store');
      const { digest } = r.value;
      const actual = await hashFile(join(layoutDir, 'blobs', ...digest.split(':')), digest, signal);
      if (actual === undefined) continue;
      checked += 1;
      if (actual.digest !== digest) corrupt.push({ digest, size: actual.size, actual: actual.digest });
    }
  };
  await Promise.all(Array.from({ length: verifyConcurrency }, worker));
  corrupt.sort((a, b) => a.digest.localeCompare(b.digest));
  return { checked, corrupt };
}

/** Digest (in the algorithm of `name`) and size of a file's bytes; undefined when it has gone. */
async function hashFile(
  path: string,
  name: Digest,
  signal: AbortSignal | undefined,
): Promise<{ digest: Digest; size: number } | undefined> {
  const algorithm = name.slice(0, name.indexOf(':')) as DigestAlgorithm;
  const hash = createHash(algorithm);
  let size = 0;
  try {
    for await (const chunk of createReadStream(path, { signal })) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).byteLength;
    }
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    checkAborted(signal, 'verifying the content store');
    throw err;
  }
  return { digest: formatDigest(algorithm, hash.digest('hex')), size };
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}
