// Layer media types and what they say about the bytes: the compression to undo before applying the
// tar (image-spec layer.md and media-types.md; Docker's "Image Manifest V2, Schema 2"), and whether
// the layer is "foreign" / non-distributable: its blob may live outside the registry, at the
// descriptor's `urls` (image-spec 1.1 deprecates these types, but Windows base images still use them).

import { InvalidArgumentError } from '../../errdefs/index.ts';
import { type LayerCompression, MediaType } from './media-types.ts';

interface LayerType {
  compression: LayerCompression;
  foreign: boolean;
}

const layerTypes: ReadonlyMap<string, LayerType> = new Map([
  [MediaType.ociLayer, { compression: 'none', foreign: false }],
  [MediaType.ociLayerGzip, { compression: 'gzip', foreign: false }],
  [MediaType.ociLayerZstd, { compression: 'zstd', foreign: false }],
  [MediaType.ociLayerNondistributable, { compression: 'none', foreign: true }],
  [MediaType.ociLayerNondistributableGzip, { compression: 'gzip', foreign: true }],
  [MediaType.ociLayerNondistributableZstd, { compression: 'zstd', foreign: true }],
  [MediaType.dockerLayer, { compression: 'none', foreign: false }],
  [MediaType.dockerLayerGzip, { compression: 'gzip', foreign: false }],
  [MediaType.dockerLayerZstd, { compression: 'zstd', foreign: false }],
  [MediaType.dockerForeignLayerGzip, { compression: 'gzip', foreign: true }],
]);

function layerType(mediaType: string, what: string): LayerType {
  const type = layerTypes.get(mediaType);
  if (type === undefined) {
    throw new InvalidArgumentError(
      `${what}: unsupported layer media type ${JSON.stringify(mediaType)}; expected an OCI or Docker tar layer (plain, gzip or zstd)`,
    );
  }
  return type;
}

/** True for the OCI and Docker layer media types berth can unpack. */
export function isLayerMediaType(mediaType: string): boolean {
  return layerTypes.has(mediaType);
}

/**
 * The compression of a layer of this media type, or InvalidArgumentError naming `what` (say
 * `layer 2 of manifest sha256:…`) when it is not a layer type berth knows.
 */
export function layerCompression(mediaType: string, what = 'layer'): LayerCompression {
  return layerType(mediaType, what).compression;
}

/** True for non-distributable (OCI) and foreign (Docker) layers; false for others, known or not. */
export function isForeignLayer(mediaType: string): boolean {
  return layerTypes.get(mediaType)?.foreign ?? false;
}
