// Which media type each document and layer gets in the two formats. Docker's schema2 document
// defines gzip layers (containerd adds the plain `…diff.tar`); `…diff.tar.zstd` is a later
// containerd extension few Docker-format readers accept, so zstd layers are written in OCI images only.

import { InvalidArgumentError } from '../errdefs/index.ts';
import { type LayerCompression, MediaType } from '../oci/image/index.ts';
import type { ImageFormat } from './types.ts';

const layerTypes: Record<ImageFormat, Partial<Record<LayerCompression, string>>> = {
  oci: { none: MediaType.ociLayer, gzip: MediaType.ociLayerGzip, zstd: MediaType.ociLayerZstd },
  docker: { none: MediaType.dockerLayer, gzip: MediaType.dockerLayerGzip },
};

export function layerMediaType(format: ImageFormat, compression: LayerCompression): string {
  const type = layerTypes[format][compression];
  if (type === undefined) {
    throw new InvalidArgumentError(
      `a ${compression} layer cannot be used in a ${format} image; use the OCI format`,
    );
  }
  return type;
}

export function manifestMediaType(format: ImageFormat): string {
  return format === 'oci' ? MediaType.ociManifest : MediaType.dockerManifest;
}

export function configMediaType(format: ImageFormat): string {
  return format === 'oci' ? MediaType.ociConfig : MediaType.dockerConfig;
}

export function indexMediaType(format: ImageFormat): string {
  return format === 'oci' ? MediaType.ociIndex : MediaType.dockerManifestList;
}
