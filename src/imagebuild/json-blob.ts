// Stores a JSON document (config, manifest, index) as a blob. The bytes are JSON.stringify's output
// without whitespace; the objects are built with a fixed key order, so the digest is reproducible.

import type { BlobWriter } from '../content/index.ts';
import type { Descriptor } from '../oci/image/index.ts';

/** Serialises `value`, writes it and returns its descriptor with `mediaType`. */
export async function writeJsonBlob(
  writer: BlobWriter,
  mediaType: string,
  value: unknown,
  signal?: AbortSignal,
): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(value), 'utf8');
  const { digest, size } = await writer.writeBlob(bytes, undefined, signal ? { signal } : {});
  return { mediaType, digest, size };
}
