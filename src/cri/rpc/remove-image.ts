// ImageService.RemoveImage: api.proto "This call is idempotent, and must not return an error if the
// image has already been removed". The kubelet removes by image id; every name leading to that id
// goes (containerd removes all of an image's references too), then the garbage collector frees its
// blobs and snapshots at once, so that the next ImageFsInfo shows the space the kubelet's image GC
// was after (containerd deletes synchronously for the same reason). Snapshots of containers created
// from the image are roots of the collection and stay.

import type { MessageInitShape } from '@bufbuild/protobuf';
import { NotFoundError } from '../../errdefs/index.ts';
import type { RemoveImageRequest, RemoveImageResponseSchema } from '../gen/api_pb.js';
import { naming, requireImage } from '../image-spec.ts';
import type { ImageRpcDeps } from './image-deps.ts';

export async function removeImage(
  req: RemoveImageRequest,
  deps: Pick<ImageRpcDeps, 'catalog' | 'removeName' | 'collectGarbage' | 'log'>,
): Promise<MessageInitShape<typeof RemoveImageResponseSchema>> {
  const ref = requireImage(req.image, 'image');
  const image = await naming('image.image', () => deps.catalog.resolve(ref));
  if (image === undefined) return {};
  for (const n of image.names) {
    await deps.removeName(n.name).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err; // removed meanwhile by another call
    });
  }
  // The names are gone, which is what the call promised: a collection that fails is reported to
  // the operator and retried by the next removal, not turned into an error the kubelet would retry
  // against an image that no longer exists.
  await deps.collectGarbage().catch((err: unknown) => {
    deps.log(`RemoveImage ${image.id}: garbage collection failed: ${(err as Error).message}`);
  });
  return {};
}
