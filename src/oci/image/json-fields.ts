// The image-spec's own field checker; the generic ones are in src/util/json-fields.ts.
import { InvalidArgumentError } from '../../errdefs/index.ts';
import { type At, fail, string } from '../../util/json-fields.ts';
import { parseDigest } from './digest.ts';
import type { Digest } from './types.ts';

export * from '../../util/json-fields.ts';

/** A digest in the canonical form parseDigest accepts (safe to use as a path component). */
export function digest(at: At, v: unknown): Digest {
  const s = string(at, v);
  try {
    parseDigest(s);
  } catch (err) {
    if (err instanceof InvalidArgumentError) fail(at, err.message, err);
    throw err;
  }
  return s;
}
