import type { Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import type { Store } from '../content/index.ts';
import { isErrno, NotFoundError } from '../errdefs/index.ts';
import type { LayerIngest, PullContent } from './pull-content.ts';

/**
 * How long a pull waits for another pull (in this process or another) that is downloading the same
 * blob; then it resumes what that one kept, or finds the blob committed.
 */
export const ingestWaitMs = 10 * 60 * 1000;

/** The content store seen through the narrow interface a pull uses. */
export function contentForPull(store: Store): PullContent {
  return {
    async has(digest) {
      try {
        await store.info(digest);
        return true;
      } catch (err) {
        if (err instanceof NotFoundError) return false;
        throw err;
      }
    },
    read(digest) {
      // readStream is async (it opens the file); a PassThrough lets the pull hand the unpacker a
      // stream at once, with an open failure arriving as the stream's error.
      const out = new PassThrough();
      store.readStream(digest).then(
        (s) => s.pipe(out),
        (err: unknown) => out.destroy(err as Error),
      );
      return out;
    },
    readBytes: (digest, limit) => store.readBytes(digest, limit),
    async put(desc, bytes) {
      await store.writeBlob(bytes, { digest: desc.digest, size: desc.size });
    },
    async ingest(desc): Promise<LayerIngest> {
      const w = await store.writer(
        `layer-${desc.digest}`,
        { digest: desc.digest, size: desc.size },
        { waitMs: ingestWaitMs },
      );
      return {
        offset: w.offset,
        held: (): Readable => w.readHeld(),
        write: (chunk) => w.write(chunk),
        commit: async () => {
          await w.commit();
        },
        abort: () => w.abort(),
        // An ingest holding no byte (the registry failed before sending any) has nothing to resume:
        // removed, so that failed pulls do not leave empty ingest directories behind.
        close: () => (w.offset === 0 ? w.abort() : w.close()),
      };
    },
    setImage: (name, target) => store.setImage(name, target),
    async removeImage(name) {
      try {
        await store.removeImage(name);
      } catch (err) {
        // The metadata table is the source of truth; an index.json without the entry is already right.
        if (!(err instanceof NotFoundError) && !isErrno(err, 'ENOENT')) throw err;
      }
    },
  };
}
