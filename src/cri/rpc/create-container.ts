// RuntimeService.CreateContainer: a container in a ready pod, from an image already pulled (the
// kubelet pulls first); nothing runs until StartContainer (api.proto: "creates a new container in
// specified PodSandbox").

import type { MessageInitShape } from '@bufbuild/protobuf';
import { InvalidArgumentError } from '../../errdefs/index.ts';
import { createRequest } from '../container-request.ts';
import type { CreateContainerRequest, CreateContainerResponseSchema } from '../gen/api_pb.js';
import type { ContainerRpcDeps } from './container-deps.ts';

export async function createContainer(
  req: CreateContainerRequest,
  deps: ContainerRpcDeps,
  signal: AbortSignal,
): Promise<MessageInitShape<typeof CreateContainerResponseSchema>> {
  if (req.config === undefined) throw new InvalidArgumentError('CreateContainer: config is required');
  const image = req.config.image?.image ?? '';
  if (image === '') throw new InvalidArgumentError('CreateContainer: config.image.image is required');
  const pod = await deps.podViews.view(req.podSandboxId);
  const name = await deps.images.resolveName(image);
  const c = await deps.containers.create(createRequest(req.config, pod, name, deps.statDevice), { signal });
  return { containerId: c.id };
}
