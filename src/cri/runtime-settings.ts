// What the kubelet tells the runtime through UpdateRuntimeConfig (api.proto RuntimeConfig): today only
// the node's pod CIDR (NetworkConfig.pod_cidr, "CIDR to use for pod IP addresses. If the CIDR is
// empty, runtimes should omit it"). The kubelet sends it once the node object has one; berth's CNI
// configuration names its own subnet, so the CIDR is remembered and reported (Status verbose info),
// as containerd does when it has no CNI config template to render it into. Kept in memory: the
// kubelet sends it again after berthd restarts.

import { isCidr } from '../cni/index.ts';
import { InvalidArgumentError } from '../errdefs/index.ts';

export class RuntimeSettings {
  /** The node's pod CIDRs: one per IP family (the kubelet joins dual-stack ones with a comma). */
  podCidrs: readonly string[] = [];

  /** Sets the pod CIDR from `pod_cidr`; empty leaves the one known (api.proto: "omit it"). */
  setPodCidr(podCidr: string): void {
    if (podCidr === '') return;
    const cidrs = podCidr.split(',').map((s) => s.trim());
    for (const c of cidrs) {
      if (!isCidr(c)) {
        throw new InvalidArgumentError(
          `runtime_config.network_config.pod_cidr: ${JSON.stringify(c)} is not an address/prefix-length CIDR`,
        );
      }
    }
    this.podCidrs = cidrs;
  }
}
