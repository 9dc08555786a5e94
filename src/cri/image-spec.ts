// The image named by a request's ImageSpec (api.proto ImageSpec.image: "container's image field,
// e.g. imageID or imageDigest"). A missing or empty one is a bad request naming the field; errors
// about the reference itself get the field's name in front, so the client sees which one was wrong.

import { InvalidArgumentError } from '../errdefs/index.ts';
import type { ImageSpec } from './gen/api_pb.js';

/** `spec.image`, required: InvalidArgumentError naming `field` when it is unset or empty. */
export function requireImage(spec: ImageSpec | undefined, field: string): string {
  const image = spec?.image ?? '';
  if (image === '') throw new InvalidArgumentError(`${field}.image: an image id or reference is required`);
  return image;
}

/** Runs `fn`, putting `field` in front of an InvalidArgumentError's message. */
export async function naming<T>(field: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    throw new InvalidArgumentError(`${field}: ${err.message}`, { cause: err, hint: err.hint });
  }
}
