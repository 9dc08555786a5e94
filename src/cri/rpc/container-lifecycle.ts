// RuntimeService.StartContainer, StopContainer, RemoveContainer: thin calls into the container
// service, with api.proto's idempotency: stopping a stopped container and removing an absent one
// succeed ("If the container has already been removed, it MUST NOT return an error").

import type { MessageInitShape } from '@bufbuild/protobuf';
import { NotFoundError } from '../../errdefs/index.ts';
import type {
  RemoveContainerRequest,
  RemoveContainerResponseSchema,
  StartContainerRequest,
  StartContainerResponseSchema,
  StopContainerRequest,
  StopContainerResponseSchema,
} from '../gen/api_pb.js';
import type { ContainerRpcDeps } from './container-deps.ts';

export async function startContainer(
  req: StartContainerRequest,
  deps: ContainerRpcDeps,
  signal: AbortSignal,
): Promise<MessageInitShape<typeof StartContainerResponseSchema>> {
  // Detached: berthd does not wait for it; conmon's cleanup command records the exit.
  await deps.containers.start(req.containerId, { detached: true, signal });
  return {};
}

export async function stopContainer(
  req: StopContainerRequest,
  deps: ContainerRpcDeps,
): Promise<MessageInitShape<typeof StopContainerResponseSchema>> {
  // timeout: seconds to wait after the stop signal before SIGKILL; 0 kills at once (api.proto).
  await deps.containers.stop(req.containerId, Number(req.timeout)).catch((err: unknown) => {
    if (!(err instanceof NotFoundError)) throw err;
  });
  return {};
}

export async function removeContainer(
  req: RemoveContainerRequest,
  deps: ContainerRpcDeps,
): Promise<MessageInitShape<typeof RemoveContainerResponseSchema>> {
  await deps.containers.remove(req.containerId, { force: true }).catch((err: unknown) => {
    if (!(err instanceof NotFoundError)) throw err;
  });
  return {};
}
