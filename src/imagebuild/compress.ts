// The compressors for layer blobs. Output must be byte-identical across builds of the same input:
// Node's gzip writes MTIME 0 and no file name in its header (RFC 1952 "FNAME" is never set), and
// zstd frames carry no dates, so neither depends on the time or the temp file name.

import { PassThrough, type Transform } from 'node:stream';
import { constants, createGzip, createZstdCompress } from 'node:zlib';
import { InvalidArgumentError } from '../errdefs/index.ts';
import type { LayerCompression } from '../oci/image/index.ts';

export const defaultGzipLevel = 6;
export const defaultZstdLevel = 3;

/** A stream that compresses what is written to it (a pass-through for 'none'). */
export function compressor(compression: LayerCompression, level?: number): Transform {
  switch (compression) {
    case 'none':
      return new PassThrough();
    case 'gzip':
      checkLevel(level, 0, 9, compression);
      return createGzip({ level: level ?? defaultGzipLevel });
    case 'zstd':
      checkLevel(level, 1, 22, compression);
      return createZstdCompress({
        params: { [constants.ZSTD_c_compressionLevel]: level ?? defaultZstdLevel },
      });
    default:
      throw new InvalidArgumentError(`layer compression ${JSON.stringify(compression)}: none, gzip or zstd`);
  }
}

function checkLevel(level: number | undefined, min: number, max: number, what: string): void {
  if (level !== undefined && (!Number.isInteger(level) || level < min || level > max)) {
    throw new InvalidArgumentError(`${what} level ${level}: must be an integer within ${min}..${max}`);
  }
}
