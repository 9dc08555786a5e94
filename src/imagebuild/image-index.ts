// A multi-platform image: an image index (image-spec image-index.md) or, in Docker format, a
// manifest list, whose entries are the images' manifest descriptors with their platforms.

import type { BlobWriter } from '../content/index.ts';
import { InvalidArgumentError } from '../errdefs/index.ts';
import type { Descriptor, Index } from '../oci/image/index.ts';
import { writeJsonBlob } from './json-blob.ts';
import { indexMediaType } from './media.ts';
import type { IndexSpec } from './types.ts';

/** The index document for `spec`. Every image must use the index's format. */
export function imageIndex(spec: IndexSpec): Index {
  const format = spec.format ?? 'oci';
  if (spec.images.length === 0) throw new InvalidArgumentError('image index: needs at least one image');
  if (spec.annotations !== undefined && format === 'docker') {
    throw new InvalidArgumentError('index annotations: Docker manifest lists have no annotations field');
  }
  const manifests = spec.images.map((image): Descriptor => {
    if (image.format !== format) {
      throw new InvalidArgumentError(
        `image index: a ${format} index cannot list the ${image.format} manifest ${image.manifest.digest}`,
      );
    }
    const { mediaType, digest, size } = image.manifest;
    return { mediaType, digest, size, platform: image.platform };
  });
  return {
    schemaVersion: 2,
    mediaType: indexMediaType(format),
    manifests,
    ...(spec.annotations !== undefined && { annotations: spec.annotations }),
  };
}

/** Stores the index of `spec` (the manifests must be in the layout already) and returns its descriptor. */
export function writeImageIndex(
  writer: BlobWriter,
  spec: IndexSpec,
  signal?: AbortSignal,
): Promise<Descriptor> {
  return writeJsonBlob(writer, indexMediaType(spec.format ?? 'oci'), imageIndex(spec), signal);
}
