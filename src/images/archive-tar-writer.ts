// Writing an image archive as a tar stream (tar-stream's pack, wrapped for Node pipelines as
// src/imagebuild/tar.ts does). Blob entries stream from their source with backpressure, so an
// export holds one chunk of a layer in memory, never the layer.
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack as createPack, type Pack } from 'tar-stream';
import { DataLossError, InternalError } from '../errdefs/index.ts';

/** Fixed entry times: the same images give the same archive bytes. */
const epoch = new Date(0);

export class ArchiveTarWriter {
  private readonly pack: Pack = createPack();
  /** The tar bytes, as a Node stream. */
  readonly output: Readable = Readable.from(this.pack, { objectMode: false });

  /** A small file (index.json, manifest.json, a config). */
  file(name: string, bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pack.entry({ name, size: bytes.length, mode: 0o644, mtime: epoch }, Buffer.from(bytes), (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }

  /**
   * A file of exactly `size` bytes read from `source`. More or fewer bytes fail the export (DataLoss):
   * tar-stream refuses a short body but would silently write a long one, corrupting the archive.
   */
  async stream(name: string, size: number, source: AsyncIterable<unknown>): Promise<void> {
    let sink!: Writable;
    const done = new Promise<void>((resolve, reject) => {
      sink = this.pack.entry({ name, size, mode: 0o644, mtime: epoch }, (err) =>
        err ? reject(err) : resolve(),
      ) as unknown as Writable;
    });
    done.catch(() => undefined); // awaited below; a failure before then is reported by the loop
    let written = 0;
    for await (const chunk of source) {
      const buf = chunk as Buffer;
      written += buf.length;
      if (written > size)
        throw new DataLossError(`archive entry ${name}: more than the ${size} bytes expected`);
      if (!sink.write(buf)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
    }
    if (written !== size) {
      throw new DataLossError(`archive entry ${name}: ${written} bytes, ${size} expected`);
    }
    sink.end();
    await done;
  }

  finish(): void {
    this.pack.finalize();
  }

  fail(err: unknown): void {
    this.pack.destroy(
      err instanceof Error ? err : new InternalError('writing an image archive', { cause: err }),
    );
  }
}

/**
 * Runs `write` against a tar writer while its output is piped to `out`; the archive is complete
 * when this resolves. A failure on either side stops both and is what this rejects with.
 */
export async function writeTar(
  out: Writable,
  write: (tar: ArchiveTarWriter) => Promise<void>,
): Promise<void> {
  const tar = new ArchiveTarWriter();
  const producing = write(tar).then(
    () => tar.finish(),
    (err: unknown) => {
      tar.fail(err);
      throw err;
    },
  );
  producing.catch(() => undefined); // its error is rethrown below, after the pipeline settles
  const piping = pipeline(tar.output, out);
  const results = await Promise.allSettled([producing, piping]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}
