// RuntimeService.UpdateRuntimeConfig: the kubelet passes the node's pod CIDR once it knows it
// (api.proto NetworkConfig.pod_cidr); berth remembers it (runtime-settings.ts says why no more).

import type { MessageInitShape } from '@bufbuild/protobuf';
import type { UpdateRuntimeConfigRequest, UpdateRuntimeConfigResponseSchema } from '../gen/api_pb.js';
import type { RuntimeSettings } from '../runtime-settings.ts';

export function updateRuntimeConfig(
  req: UpdateRuntimeConfigRequest,
  settings: RuntimeSettings,
): MessageInitShape<typeof UpdateRuntimeConfigResponseSchema> {
  settings.setPodCidr(req.runtimeConfig?.networkConfig?.podCidr ?? '');
  return {};
}
