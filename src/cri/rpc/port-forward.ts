// RuntimeService.PortForward: checks the pod sandbox is ready and answers with a one-time URL on the
// stream server, where the client's SPDY connection carries TCP connections into the pod's network
// namespace (streaming/serve-port-forward.ts). The ports are named again per stream by the client; the
// request's list is kept only for reference, as the kubelet does for SPDY.

import type { MessageInitShape } from '@bufbuild/protobuf';
import { FailedPreconditionError, InvalidArgumentError } from '../../errdefs/index.ts';
import type { PodService } from '../../pods/index.ts';
import type { PortForwardRequest, PortForwardResponseSchema } from '../gen/api_pb.js';
import type { StreamUrls } from '../streaming/types.ts';

export async function portForward(
  req: PortForwardRequest,
  pods: PodService,
  urls: StreamUrls,
  signal?: AbortSignal,
): Promise<MessageInitShape<typeof PortForwardResponseSchema>> {
  if (req.podSandboxId === '') throw new InvalidArgumentError('PortForward: pod_sandbox_id is required');
  for (const port of req.port) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new InvalidArgumentError(`PortForward: port ${port}: not in 1..65535`);
    }
  }
  const pod = await pods.get(req.podSandboxId, signal === undefined ? {} : { signal });
  if (pod.status !== 'ready') {
    throw new FailedPreconditionError(`PortForward: pod sandbox ${pod.id} is not ready (${pod.status})`);
  }
  return { url: urls.urlFor({ kind: 'portforward', podSandboxId: pod.id, ports: [...req.port] }) };
}
