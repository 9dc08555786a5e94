// A pod's CNI attachment (CNI spec section 3 "Attachment Parameters"): the pod id as CNI_CONTAINERID,
// the pinned netns file as CNI_NETNS, `eth0` inside, the Kubernetes CNI_ARGS every runtime passes
// (containerd and CRI-O: IgnoreUnknown, K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_INFRA_CONTAINER_ID,
// K8S_POD_UID), and the port mappings with a host port as the portmap plugin's `portMappings`
// capability (CNI CONVENTIONS.md). Pure: the service runs it through the CNI client.

import { isIP } from 'node:net';
import type { Attachment, PortMapping } from '../cni/index.ts';
import { InvalidArgumentError } from '../errdefs/index.ts';
import type { PodMetadata, PodPortMapping } from './types.ts';

/** The interface inside every pod, as with containerd and CRI-O. */
export const POD_IFNAME = 'eth0';

function port(n: number | undefined, what: string, allowZero: boolean): number {
  const v = n ?? 0;
  if (!Number.isInteger(v) || v < (allowZero ? 0 : 1) || v > 65535) {
    throw new InvalidArgumentError(
      `port mapping ${what} ${String(n)}: must be ${allowZero ? '0' : '1'}-65535`,
    );
  }
  return v;
}

/** Validates the CRI port mappings; returns those the portmap plugin gets (host port set). */
export function portMappings(mappings: readonly PodPortMapping[] | undefined): PortMapping[] {
  const out: PortMapping[] = [];
  for (const m of mappings ?? []) {
    const containerPort = port(m.containerPort, 'container port', false);
    const hostPort = port(m.hostPort, 'host port', true);
    const protocol = m.protocol ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') {
      throw new InvalidArgumentError(
        `port mapping protocol ${JSON.stringify(protocol)}: must be TCP, UDP or SCTP`,
      );
    }
    const hostIp = m.hostIp ?? '';
    if (hostIp !== '' && isIP(hostIp) === 0) {
      throw new InvalidArgumentError(`port mapping host IP ${JSON.stringify(hostIp)}: not an IP address`);
    }
    // kubelet sends every declared containerPort; only those with a host port are forwarded.
    if (hostPort === 0) continue;
    out.push({
      hostPort,
      containerPort,
      protocol: protocol.toLowerCase() as PortMapping['protocol'],
      ...(hostIp === '' ? {} : { hostIP: hostIp }),
    });
  }
  return out;
}

export function podAttachment(
  id: string,
  netns: string,
  meta: PodMetadata,
  mappings: readonly PodPortMapping[] | undefined,
): Attachment {
  const ports = portMappings(mappings);
  return {
    containerId: id,
    netns,
    ifName: POD_IFNAME,
    args: {
      IgnoreUnknown: '1',
      K8S_POD_NAMESPACE: meta.namespace,
      K8S_POD_NAME: meta.name,
      K8S_POD_INFRA_CONTAINER_ID: id,
      K8S_POD_UID: meta.uid,
    },
    ...(ports.length === 0 ? {} : { capabilityArgs: { portMappings: ports } }),
  };
}
