// Size limits for documents berth reads whole into memory. A registry or a layout chooses what it
// serves, so every such read is bounded: first by the size the descriptor or Content-Length
// announces (checked before any byte is read), then while reading, in case that was absent or false.
//
// This lives in oci/image rather than util because it throws errdefs' ResourceExhaustedError and
// layer-0 folders may not import each other (docs/architecture.md, the layer table).

import { ResourceExhaustedError } from '../../errdefs/index.ts';

/**
 * The largest manifest or index berth reads: 4 MiB, the limit the reference registry puts on
 * manifest uploads (distribution registry/handlers/manifests.go, maxManifestBodySize), so no image
 * a registry accepted is refused; containers/image (CRI-O) reads with the same limit.
 */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;

/** The largest image config berth reads: 4 MiB, as containers/image's MaxConfigBodySize. */
export const MAX_CONFIG_SIZE = 4 * 1024 * 1024;

/**
 * Throws ResourceExhaustedError when an announced size is over `limit`; call it before reading.
 * An unknown size (no Content-Length) passes: readLimited bounds the read itself.
 */
export function checkSizeLimit(size: number | undefined, limit: number, what: string): void {
  if (size !== undefined && size > limit) {
    throw new ResourceExhaustedError(`${what} is ${size} bytes, over the limit of ${limit} bytes`);
  }
}

/**
 * Reads a byte stream into one buffer, throwing ResourceExhaustedError as soon as more than `limit`
 * bytes have arrived. Leaving the `for await` by the throw calls the iterator's return(), which
 * for Node streams and fetch bodies destroys the stream, so the rest is never downloaded.
 */
export async function readLimited(
  stream: AsyncIterable<Uint8Array>,
  limit: number,
  what: string,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.byteLength;
    if (total > limit) {
      throw new ResourceExhaustedError(`${what} is over the limit of ${limit} bytes; stopped reading`);
    }
    chunks.push(chunk);
  }
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
