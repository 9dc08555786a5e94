// ImageService.ImageFsInfo: the filesystem holding the images, for the kubelet's image garbage
// collection (api.proto FilesystemUsage). The mountpoint is the snapshotter's directory, as containerd
// names its snapshotter root; bytes and inodes are measured there (fs-usage.ts). Containers' writable
// layers live in the same directory, so container_filesystems stays empty (api.proto: only "if
// container and image filesystems are split").

import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ImageFsInfoRequest, ImageFsInfoResponseSchema } from '../gen/api_pb.js';
import type { ImageRpcDeps } from './image-deps.ts';

export async function imageFsInfo(
  _req: ImageFsInfoRequest,
  deps: Pick<ImageRpcDeps, 'usage' | 'imageFsMountpoint'>,
  signal: AbortSignal,
): Promise<MessageInitShape<typeof ImageFsInfoResponseSchema>> {
  const u = await deps.usage(signal);
  return {
    imageFilesystems: [
      {
        timestamp: BigInt(u.at) * 1_000_000n, // CRI times are nanoseconds since the epoch
        fsId: { mountpoint: deps.imageFsMountpoint },
        usedBytes: { value: BigInt(u.bytes) },
        inodesUsed: { value: BigInt(u.inodes) },
      },
    ],
  };
}
