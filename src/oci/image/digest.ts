import { InvalidArgumentError } from '../../errdefs/index.ts';
import type { Digest } from './types.ts';

// image-spec descriptor.md "Digests": algorithm ":" encoded. berth accepts the two registered
// algorithms and only their canonical form (lowercase hex of the exact length), so that a digest can
// safely become a path component: `sha256:../../x` must never reach the filesystem.
const encodedLength = { sha256: 64, sha512: 128 } as const;

export type DigestAlgorithm = keyof typeof encodedLength;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  encoded: string;
}

const hex = /^[0-9a-f]+$/;

/** Parses and validates a digest, or throws InvalidArgumentError naming `what` and the reason. */
export function parseDigest(digest: string, what = 'digest'): ParsedDigest {
  const colon = digest.indexOf(':');
  if (colon < 0)
    throw new InvalidArgumentError(`${what} ${JSON.stringify(digest)}: missing "algorithm:" prefix`);
  const algorithm = digest.slice(0, colon);
  const encoded = digest.slice(colon + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new InvalidArgumentError(
      `${what} ${JSON.stringify(digest)}: unsupported algorithm ${JSON.stringify(algorithm)} (sha256 or sha512)`,
    );
  }
  const want = encodedLength[algorithm];
  if (encoded.length !== want || !hex.test(encoded)) {
    throw new InvalidArgumentError(
      `${what} ${JSON.stringify(digest)}: ${algorithm} needs ${want} lowercase hex digits after the colon`,
    );
  }
  return { algorithm, encoded };
}

export function isDigest(digest: string): boolean {
  try {
    parseDigest(digest);
    return true;
  } catch (err) {
    if (err instanceof InvalidArgumentError) return false;
    throw err;
  }
}

export function formatDigest(algorithm: DigestAlgorithm, encoded: string): Digest {
  return `${algorithm}:${encoded}`;
}
