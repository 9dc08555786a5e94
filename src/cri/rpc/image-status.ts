// ImageService.ImageStatus: api.proto "If the image is not present, returns a response with
// ImageStatusResponse.Image set to nil" — absence is an answer, not NotFound (the kubelet asks this
// before every pull to learn whether it must pull). `verbose` adds the image config in info["info"].

import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ImageStatusRequest, ImageStatusResponseSchema } from '../gen/api_pb.js';
import { naming, requireImage } from '../image-spec.ts';
import { toCriImage, verboseImageInfo } from '../image-view.ts';
import type { ImageRpcDeps } from './image-deps.ts';

export async function imageStatus(
  req: ImageStatusRequest,
  deps: Pick<ImageRpcDeps, 'catalog' | 'pinned'>,
): Promise<MessageInitShape<typeof ImageStatusResponseSchema>> {
  const ref = requireImage(req.image, 'image');
  const image = await naming('image.image', () => deps.catalog.resolve(ref));
  if (image === undefined) return {};
  return {
    image: toCriImage(image, deps.pinned),
    ...(req.verbose ? { info: verboseImageInfo(image) } : {}),
  };
}
