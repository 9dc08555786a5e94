// ImageService.ImageFsInfo: how much space the images take, for the kubelet's image garbage
// collection. A stub until the image service is wired into berthd (issue 5): it names the
// snapshotter's directory, as containerd names its snapshotter root, and reports zero usage.

import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ImageFsInfoRequest, ImageFsInfoResponseSchema } from '../gen/api_pb.js';

export interface ImageFsInfoDeps {
  /** Where unpacked layers live: <root>/snapshots/<snapshotter>. */
  imageFsMountpoint: string;
  now?: () => number;
}

export function imageFsInfo(
  _req: ImageFsInfoRequest,
  deps: ImageFsInfoDeps,
): MessageInitShape<typeof ImageFsInfoResponseSchema> {
  const timestamp = BigInt(deps.now?.() ?? Date.now()) * 1_000_000n; // CRI times are nanoseconds
  return {
    imageFilesystems: [
      {
        timestamp,
        fsId: { mountpoint: deps.imageFsMountpoint },
        usedBytes: { value: 0n },
        inodesUsed: { value: 0n },
      },
    ],
  };
}
