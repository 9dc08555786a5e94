// RuntimeService.Status: the two conditions the kubelet requires (api.proto RuntimeCondition:
// "RuntimeReady means the runtime is up and ready to accept basic containers"; "NetworkReady means
// the runtime network is up and ready to accept containers which require network"). Answering at all
// means the runtime is ready; the network is ready when CNI has a configuration (network-status.ts).
// `verbose` adds info, each value JSON (crictl info parses every value, and pastes a non-JSON one
// unquoted into its output): the config berthd runs with, the CNI network, the pod CIDRs.

import type { MessageInitShape } from '@bufbuild/protobuf';
import type { StatusRequest, StatusResponseSchema } from '../gen/api_pb.js';
import { networkStatus } from '../network-status.ts';
import type { RuntimeSettings } from '../runtime-settings.ts';

export const RUNTIME_READY = 'RuntimeReady';
export const NETWORK_READY = 'NetworkReady';

export interface RuntimeStatusDeps {
  cniConfDir: string;
  settings: RuntimeSettings;
  /** Shown as info["config"] (containerd shows its CRI plugin config there). */
  config: Record<string, unknown>;
}

export async function status(
  req: StatusRequest,
  deps: RuntimeStatusDeps,
  signal: AbortSignal,
): Promise<MessageInitShape<typeof StatusResponseSchema>> {
  const net = await networkStatus(deps.cniConfDir, signal);
  const conditions = [
    { type: RUNTIME_READY, status: true, reason: '', message: '' },
    { type: NETWORK_READY, status: net.ready, reason: net.reason, message: net.message },
  ];
  if (!req.verbose) return { status: { conditions } };
  return {
    status: { conditions },
    info: {
      config: JSON.stringify(deps.config),
      cniconfig: JSON.stringify(net.info),
      podCIDRs: JSON.stringify(deps.settings.podCidrs),
    },
  };
}
