// Writes planned entries as a tar stream with tar-stream (ustar headers, pax for long names).
// Entries are added one at a time and each waits for the pack to take its bytes, so memory stays
// bounded by the stream buffers however large the files are: host files are streamed, not loaded.

import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pack as createPack, type Pack } from 'tar-stream';
import {
  CanceledError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  isErrno,
  NotFoundError,
} from '../errdefs/index.ts';
import type { PlannedEntry } from './entries.ts';

/** A Node Readable of the tar bytes of `entries` (in the given order). Errors surface on the stream. */
export function packLayer(entries: readonly PlannedEntry[]): Readable {
  const pack = createPack();
  // tar-stream 3 streams are streamx streams; Readable.from gives the Node stream that zlib and
  // stream.pipeline expect (pipeline reads Node-internal state that streamx only imitates).
  const out = Readable.from(pack, { objectMode: false });
  writeEntries(pack, entries).then(
    () => pack.finalize(),
    (err: unknown) =>
      pack.destroy(err instanceof Error ? err : new InternalError('writing a layer tar', { cause: err })),
  );
  return out;
}

async function writeEntries(pack: Pack, entries: readonly PlannedEntry[]): Promise<void> {
  for (const entry of entries) {
    if (pack.destroyed) return;
    if (entry.hostPath !== undefined) await writeHostFile(pack, entry, entry.hostPath);
    else await writeEntry(pack, entry, entry.content);
  }
}

function writeEntry(pack: Pack, entry: PlannedEntry, content: Uint8Array | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (content === undefined) pack.entry(entry.header, done);
    else pack.entry(entry.header, Buffer.from(content.buffer, content.byteOffset, content.byteLength), done);
  });
}

async function writeHostFile(pack: Pack, entry: PlannedEntry, hostPath: string): Promise<void> {
  const name = `/${entry.header.name}`;
  // fstat the descriptor we read from, so that size and bytes come from the same file.
  const fh = await open(hostPath, 'r').catch((err: unknown) => {
    if (!isErrno(err, 'ENOENT')) throw err;
    throw new NotFoundError(`layer file ${name}: host file ${hostPath} does not exist`, { cause: err });
  });
  try {
    const st = await fh.stat();
    if (!st.isFile())
      throw new InvalidArgumentError(`layer file ${name}: host path ${hostPath} is not a regular file`);
    const size = st.size;
    let written = 0;
    let sink!: ReturnType<Pack['entry']>;
    const sinkDone = new Promise<void>((resolve, reject) => {
      sink = pack.entry({ ...entry.header, size }, (err) => (err ? reject(err) : resolve()));
    });
    // When reading fails below, the pack is destroyed and this promise rejects with the same error
    // the stream reports; mark it handled so that it is not also an unhandled rejection.
    sinkDone.catch(() => undefined);
    for await (const chunk of fh.createReadStream({ autoClose: false, start: 0 })) {
      const buf = chunk as Buffer;
      written += buf.byteLength;
      // tar-stream checks a short body but not a long one, which would corrupt the archive.
      if (written > size) {
        throw new FailedPreconditionError(`layer file ${name}: ${hostPath} grew while being archived`);
      }
      if (!sink.write(buf)) await drained(sink);
    }
    if (written !== size) {
      throw new FailedPreconditionError(`layer file ${name}: ${hostPath} shrank while being archived`);
    }
    sink.end(null);
    await sinkDone;
  } finally {
    await fh.close();
  }
}

/** Resolves on 'drain'; rejects if the entry stream fails or closes first (the pack was destroyed). */
function drained(sink: ReturnType<Pack['entry']>): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      sink.off('drain', onDrain);
      sink.off('error', onError);
      sink.off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new CanceledError('tar entry: the layer stream closed before the body was written'));
    };
    sink.on('drain', onDrain);
    sink.on('error', onError);
    sink.on('close', onClose);
  });
}
