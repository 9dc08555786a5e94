// Reading response bodies with a bound: manifests, token replies and error documents are small by
// contract, so a registry (or anything pretending to be one) must not be able to make berth buffer
// gigabytes. The bound is checked against Content-Length before reading and counted while reading,
// because Content-Length may be absent (chunked encoding) or wrong.

import type { Readable } from 'node:stream';
import { ResourceExhaustedError } from '../errdefs/index.ts';

/** Reads all of `body`, or throws ResourceExhaustedError (and drops the stream) past `limit` bytes. */
export async function readBodyLimited(
  body: Readable,
  limit: number,
  what = 'response body',
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      body.destroy();
      throw new ResourceExhaustedError(`${what} is larger than ${limit} bytes: refused`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** The first `limit` bytes of `body` (for error messages); the rest is dropped, never an error. */
export async function readBodyPrefix(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk.subarray(0, Math.max(0, limit - total)));
    total += chunk.length;
    if (total >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks);
}

/** Discards a body we do not need so the connection can be reused (or closed when large). */
export async function discardBody(body: Readable & { dump?: (opts?: { limit: number }) => Promise<void> }) {
  if (typeof body.dump === 'function') {
    await body.dump({ limit: 128 * 1024 });
    return;
  }
  body.destroy();
}

/**
 * The stall timeout of design.md rule 7: `onStall` runs when `touch()` was not called for `ms`. The
 * reader calls `touch()` on every chunk, so a slow transfer that keeps moving is fine and a silent
 * one is not. (Not a 'data' listener: that would switch the stream to flowing mode under the reader.)
 */
export function stallTimer(ms: number, onStall: () => void): { touch(): void; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const touch = (): void => {
    clearTimeout(timer);
    timer = setTimeout(onStall, ms);
    timer.unref();
  };
  touch();
  return { touch, stop: () => clearTimeout(timer) };
}
