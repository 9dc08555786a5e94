// The unpack worker: one per layer being applied (design.md "Data flow"). It receives the layer's
// bytes as they are read and, in one pass, hashes them, decompresses them, hashes the tar, walks its
// structure, parses it with tar-stream and applies each entry with synchronous fs calls. It posts
// `ack` as it takes bytes (the main thread's flow control), then `done` or one `error`.

import { createHash } from 'node:crypto';
import { PassThrough, type Transform } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { extract as createExtract, type Header } from 'tar-stream';
import { DataLossError, isBerthError } from '../errdefs/index.ts';
import { type FileSink, LayerApplier } from './layer-applier.ts';
import { paxMetadata } from './pax.ts';
import { TarStructure } from './tar-structure.ts';
import type { ApplyLayerResult } from './types.ts';
import { type FromWorker, type ToWorker, toWire, type WorkerInput } from './wire.ts';

const input = workerData as WorkerInput;
const port = parentPort!;
const post = (msg: FromWorker): void => port.postMessage(msg);

const compressedHash = createHash(input.digestAlgorithm);
const diffHash = createHash(input.diffIDAlgorithm);
let size = 0;
let uncompressedSize = 0;
let entries = 0;
let failed = false;

const decompressor: Transform =
  input.compression === 'gzip'
    ? createGunzip()
    : input.compression === 'zstd'
      ? createZstdDecompress()
      : new PassThrough();
const structure = new TarStructure();
const applier = new LayerApplier({
  root: input.root,
  whiteouts: input.whiteouts,
  sameOwner: input.sameOwner,
  devices: input.devices,
});
const extract = createExtract();

function fail(err: unknown): void {
  if (draining === undefined && input.digest !== undefined && err instanceof DataLossError) {
    drain(err);
    return;
  }
  stop({ type: 'error', error: toWire(err) });
}

// Corrupt bytes usually show first as bad gzip/zstd data or a broken tar header, long before the
// end of the blob. But "the bytes are not the blob" is the diagnosis the user needs (the registry
// or a proxy served something else): so when a digest was given, stop applying, keep hashing the
// rest of the input, and at its end report the digest mismatch (naming both digests) with the
// parse error as cause; only a blob whose digest does match is reported as corrupt by itself.
let draining: DataLossError | undefined;
let inputEnded = false;

function drain(err: DataLossError): void {
  draining = err;
  applier.abort();
  decompressor.destroy();
  extract.destroy();
  // Bytes given to the decompressor and not yet acknowledged will never be: the main thread's flow
  // control counts them as in flight.
  if (unacked > 0) post({ type: 'ack', bytes: unacked });
  unacked = 0;
  if (inputEnded) endDrain();
}

function endDrain(): void {
  const cause = draining as DataLossError;
  const what = `layer ${input.digest ?? ''}`;
  const digest = `${input.digestAlgorithm}:${compressedHash.digest('hex')}`;
  if (input.size !== undefined && size !== input.size) {
    stop({
      type: 'error',
      error: toWire(
        new DataLossError(`${what}: size mismatch: expected ${input.size} bytes, read ${size}`, { cause }),
      ),
    });
  } else if (digest !== input.digest) {
    stop({
      type: 'error',
      error: toWire(
        new DataLossError(`${what}: digest mismatch: expected ${input.digest}, got ${digest}`, { cause }),
      ),
    });
  } else {
    stop({ type: 'error', error: toWire(cause) });
  }
}

/** Closes the open file, sends the last message and stops taking input. */
function stop(last: FromWorker): void {
  if (failed) return;
  failed = true;
  applier.abort();
  post(last);
  decompressor.destroy();
  extract.destroy();
  port.close();
}

// Compressed side: count and hash every byte, trailing bytes after the compressed stream included.
let unacked = 0;
port.on('message', (msg: ToWorker) => {
  if (failed) return;
  if (msg.type === 'abort') {
    stop({ type: 'aborted' });
    return;
  }
  if (msg.type === 'end') {
    inputEnded = true;
    if (draining !== undefined) endDrain();
    else decompressor.end();
    return;
  }
  const chunk = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
  compressedHash.update(chunk);
  size += chunk.length;
  if (input.size !== undefined && size > input.size) {
    const longer = `layer ${input.digest ?? ''} is longer than its descriptor's size ${input.size}`;
    stop({ type: 'error', error: toWire(new DataLossError(longer, draining ? { cause: draining } : {})) });
    return;
  }
  if (draining !== undefined) {
    post({ type: 'ack', bytes: chunk.length });
    return;
  }
  if (decompressor.write(chunk)) post({ type: 'ack', bytes: chunk.length });
  else unacked += chunk.length;
});
decompressor.on('drain', () => {
  post({ type: 'ack', bytes: unacked });
  unacked = 0;
});
decompressor.on('error', (err) =>
  fail(
    new DataLossError(`layer ${input.digest ?? ''}: corrupt ${input.compression} data: ${err.message}`, {
      cause: err,
    }),
  ),
);

// Uncompressed side: hash, walk and parse the same bytes.
decompressor.on('data', (chunk: Buffer) => {
  if (failed || draining !== undefined) return;
  diffHash.update(chunk);
  uncompressedSize += chunk.length;
  try {
    structure.push(chunk);
  } catch (err) {
    fail(err);
    return;
  }
  if (!extract.write(chunk)) decompressor.pause();
});
extract.on('drain', () => decompressor.resume());
// streamx's typings demand an argument; end(undefined) is its plain end().
decompressor.on('end', () => extract.end(undefined));
extract.on('error', (err: Error) =>
  fail(
    isBerthError(err)
      ? err
      : new DataLossError(`layer tar is corrupt or truncated: ${err.message}`, { cause: err }),
  ),
);

extract.on('entry', (header: Header, stream, next: (err?: Error | null) => void) => {
  let sink: FileSink | undefined;
  try {
    entries++;
    const pax = structure.entry(stream.offset, header.size);
    sink = applier.begin(header, paxMetadata(pax, header.name));
  } catch (err) {
    fail(err);
    return;
  }
  stream.on('data', (chunk: unknown) => {
    if (failed || draining !== undefined) return;
    try {
      sink?.write(chunk as Uint8Array);
    } catch (err) {
      fail(err);
    }
  });
  stream.on('end', () => {
    if (failed || draining !== undefined) return;
    try {
      sink?.end();
    } catch (err) {
      fail(err);
      return;
    }
    next(null);
  });
});

extract.on('finish', () => {
  if (failed) return;
  try {
    post({ type: 'done', result: verify() });
    port.close();
  } catch (err) {
    // Not fail(): every byte is hashed and verify() checked the digest first; nothing to drain.
    stop({ type: 'error', error: toWire(err) });
  }
});

/** End of stream: sizes and digests first (a corrupt blob is best named by them), then the tar's end. */
function verify(): ApplyLayerResult {
  const what = `layer ${input.digest ?? '(no digest given)'}`;
  if (input.size !== undefined && size !== input.size) {
    throw new DataLossError(`${what}: size mismatch: expected ${input.size} bytes, read ${size}`);
  }
  const digest = `${input.digestAlgorithm}:${compressedHash.digest('hex')}`;
  if (input.digest !== undefined && digest !== input.digest) {
    throw new DataLossError(`${what}: digest mismatch: expected ${input.digest}, got ${digest}`);
  }
  const diffID = `${input.diffIDAlgorithm}:${diffHash.digest('hex')}`;
  if (input.diffID !== undefined && diffID !== input.diffID) {
    throw new DataLossError(`${what}: diffID mismatch: expected ${input.diffID}, got ${diffID}`);
  }
  structure.finish();
  applier.finish();
  return { digest, diffID, size, uncompressedSize, entries };
}
