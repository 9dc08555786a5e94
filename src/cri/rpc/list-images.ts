// ImageService.ListImages: every image this node can run, one entry per image id with all its names
// (api.proto Image). The filter (ImageFilter.image) selects as image-catalog.ts `filter` says.

import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ListImagesRequest, ListImagesResponseSchema } from '../gen/api_pb.js';
import { naming } from '../image-spec.ts';
import { toCriImage } from '../image-view.ts';
import type { ImageRpcDeps } from './image-deps.ts';

export async function listImages(
  req: ListImagesRequest,
  deps: Pick<ImageRpcDeps, 'catalog' | 'pinned'>,
): Promise<MessageInitShape<typeof ListImagesResponseSchema>> {
  const ref = req.filter?.image?.image ?? '';
  const images = await naming('filter.image.image', () => deps.catalog.filter(ref));
  return { images: images.map((i) => toCriImage(i, deps.pinned)) };
}
