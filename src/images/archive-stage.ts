// The write half of an import: every planned blob the store lacks is streamed from the archive into
// its content ingest and hashed on the way; nothing is committed until every one of them has
// verified. A blob whose bytes do not match its name therefore leaves the store as it was: the
// other ingests are aborted too, and no image record is written (archive-import.ts).
import { createHash, type Hash } from 'node:crypto';
import { AlreadyExistsError, CanceledError, DataLossError, InvalidArgumentError } from '../errdefs/index.ts';
import { parseDigest } from '../oci/image/index.ts';
import type { ImportPlan, PlannedBlob } from './archive-plan.ts';
import type { ArchiveReader } from './archive-reader.ts';
import type { LayerIngest, PullContent } from './pull-content.ts';
import type { ProgressListener } from './types.ts';

/** Verified, uncommitted ingests: commit them all, or abort them all. */
export interface StagedBlobs {
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** How often (bytes) reading an archive entry reports progress. */
const progressStep = 1024 * 1024;

export async function stageBlobs(
  content: PullContent,
  archive: ArchiveReader,
  plan: ImportPlan,
  progress: ProgressListener,
  signal: AbortSignal | undefined,
): Promise<StagedBlobs> {
  const byPath = new Map<string, PlannedBlob>();
  for (const blob of plan.blobs.values()) {
    if (await content.has(blob.desc.digest)) {
      const { size } = blob.desc;
      progress({ id: blob.desc.digest, kind: 'layer', phase: 'exists', current: size, total: size });
      continue;
    }
    const other = byPath.get(blob.path);
    if (other !== undefined) {
      throw new InvalidArgumentError(
        `${archive.what}: ${blob.path} is named as both ${other.desc.digest} and ${blob.desc.digest}`,
      );
    }
    byPath.set(blob.path, blob);
  }
  const ingests: LayerIngest[] = [];
  const abort = async () => {
    for (const ingest of ingests.splice(0)) await ingest.abort();
  };
  try {
    await archive.stream(new Set(byPath.keys()), async (path, body) => {
      // Checked between entries: an entry being copied finishes (its ingest is aborted below).
      if (signal?.aborted) throw new CanceledError(`import of ${archive.what}: canceled`);
      const { desc } = byPath.get(path) as PlannedBlob;
      let ingest: LayerIngest;
      try {
        ingest = await content.ingest(desc);
      } catch (err) {
        // Stored since we looked (another pull or import): its bytes are right by their name.
        if (!(err instanceof AlreadyExistsError)) throw err;
        for await (const _ of body) {
          // not needed: the entry is skipped
        }
        return;
      }
      ingests.push(ingest);
      const hash = createHash(parseDigest(desc.digest).algorithm);
      // An earlier, interrupted pull of the same blob left `offset` bytes: they are kept (and
      // hashed here), and the archive's bytes continue after them.
      for await (const chunk of ingest.held()) hash.update(chunk as Buffer);
      const read = await copyEntry(body, ingest, hash, desc.digest, desc.size, progress);
      const actual = `${parseDigest(desc.digest).algorithm}:${hash.digest('hex')}`;
      if (actual !== desc.digest || read !== desc.size) {
        throw new DataLossError(
          `${archive.what}: ${path} is ${actual} (${read} bytes), the archive says ${desc.digest} (${desc.size} bytes)`,
        );
      }
    });
  } catch (err) {
    await abort();
    throw err;
  }
  return {
    async commit() {
      for (const ingest of ingests.splice(0)) await ingest.commit();
    },
    abort,
  };
}

/** Copies one entry into its ingest (past the bytes it holds), hashing it; returns bytes seen. */
async function copyEntry(
  body: AsyncIterable<unknown>,
  ingest: LayerIngest,
  hash: Hash,
  digest: string,
  size: number,
  progress: ProgressListener,
): Promise<number> {
  let read = 0;
  let reported = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    const skip = Math.max(0, Math.min(buf.length, ingest.offset - read));
    read += buf.length;
    if (read > size) break;
    const rest = buf.subarray(skip);
    if (rest.length > 0) {
      hash.update(rest);
      await ingest.write(rest);
    }
    if (read - reported >= progressStep || read === size) {
      reported = read;
      progress({ id: digest, kind: 'layer', phase: 'downloading', current: read, total: size });
    }
  }
  return read;
}
