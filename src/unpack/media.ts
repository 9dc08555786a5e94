import { InvalidArgumentError } from '../errdefs/index.ts';
import { type LayerCompression, MediaType } from '../oci/image/index.ts';

// image-spec media-types.md and layer.md: the distributable and non-distributable OCI layer types;
// Docker schema2 rootfs.diff.tar(.gzip) and the "foreign" layer (Windows base layers, still a tar.gz).
// Docker never registered a zstd type but containerd and BuildKit emit `…diff.tar.zstd`.
const compressionByMediaType: ReadonlyMap<string, LayerCompression> = new Map<string, LayerCompression>([
  [MediaType.ociLayer, 'none'],
  [MediaType.ociLayerGzip, 'gzip'],
  [MediaType.ociLayerZstd, 'zstd'],
  [MediaType.ociLayerNondistributable, 'none'],
  [MediaType.ociLayerNondistributableGzip, 'gzip'],
  [MediaType.ociLayerNondistributableZstd, 'zstd'],
  [MediaType.dockerLayer, 'none'],
  [MediaType.dockerLayerGzip, 'gzip'],
  [MediaType.dockerLayerZstd, 'zstd'],
  [MediaType.dockerForeignLayerGzip, 'gzip'],
]);

/** The compression a layer media type implies, or InvalidArgumentError for anything else. */
export function layerCompression(mediaType: string): LayerCompression {
  const compression = compressionByMediaType.get(mediaType);
  if (compression === undefined) {
    throw new InvalidArgumentError(`layer media type ${JSON.stringify(mediaType)}: not a known layer type`, {
      hint: 'expected an OCI image layer (tar, tar+gzip, tar+zstd) or a Docker schema2 rootfs diff',
    });
  }
  return compression;
}
