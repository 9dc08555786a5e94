// RunPodSandbox's request checked before anything is made, every error an InvalidArgument naming the
// field (the CRI maps it to gRPC InvalidArgument): metadata, host name, DNS, port mappings, cgroup
// parent, sysctls, namespace modes, shm size. The result is the request in the form the record keeps.

import { checkCgroupsPath } from '../cgroups/index.ts';
import { InvalidArgumentError } from '../errdefs/index.ts';
import { withHostname } from '../spec/index.ts';
import { checkDnsConfig, isEmptyDns } from './dns.ts';
import { portMappings } from './network.ts';
import { checkShmSize, DEFAULT_SHM_SIZE } from './shm.ts';
import { validateSysctls } from './sysctls.ts';
import type { PodMetadata, RunPodRequest } from './types.ts';

// Metadata parts become CNI_ARGS values and part of the row name: DNS-label-like, as Kubernetes
// makes them (names and namespaces are RFC 1123, uids are UUIDs).
const metaPart = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,252})$/;

function checkMetadata(m: PodMetadata | undefined): PodMetadata {
  if (m === undefined) throw new InvalidArgumentError('pod: metadata is required');
  for (const field of ['name', 'namespace', 'uid'] as const) {
    if (typeof m[field] !== 'string' || !metaPart.test(m[field])) {
      throw new InvalidArgumentError(
        `pod metadata.${field} ${JSON.stringify(m[field])}: letters, digits, _ . - (at most 253)`,
      );
    }
  }
  if (!Number.isInteger(m.attempt) || m.attempt < 0 || m.attempt > 0xffffffff) {
    throw new InvalidArgumentError(`pod metadata.attempt ${String(m.attempt)}: must be a uint32`);
  }
  return { name: m.name, namespace: m.namespace, uid: m.uid, attempt: m.attempt };
}

/** The row's unique name (containerd's makeSandboxName). */
export function podName(m: PodMetadata): string {
  return [m.name, m.namespace, m.uid, String(m.attempt)].join('_');
}

export interface CheckedRequest {
  request: RunPodRequest;
  hostname: string;
  hostNetwork: boolean;
  hostIpc: boolean;
  shmSize: number;
}

export function checkRunRequest(req: RunPodRequest, hostHostname: string): CheckedRequest {
  const metadata = checkMetadata(req.metadata);
  const ns = req.namespaces ?? {};
  for (const [field, v, allowed] of [
    ['network', ns.network, ['pod', 'node']],
    ['ipc', ns.ipc, ['pod', 'node']],
    ['pid', ns.pid, ['container', 'pod', 'node']],
  ] as const) {
    if (v !== undefined && !(allowed as readonly string[]).includes(v)) {
      throw new InvalidArgumentError(
        `pod namespaces.${field} ${JSON.stringify(v)}: must be one of ${allowed.join(', ')}`,
      );
    }
  }
  const hostNetwork = ns.network === 'node';
  const hostIpc = ns.ipc === 'node';
  // With the host's network the pod has the host's UTS namespace too (kubelet's rule), so its name.
  // No hostname asked for: the node's, as containerd and CRI-O do (a pod name may be longer than
  // a host name can be, and kubelet always sends one for real pods).
  const hostname = hostNetwork ? hostHostname : req.hostname || hostHostname;
  withHostname(hostname); // throws InvalidArgument for a name sethostname(2) would refuse
  if (req.dnsConfig !== undefined && !isEmptyDns(req.dnsConfig)) checkDnsConfig(req.dnsConfig);
  portMappings(req.portMappings);
  if (req.cgroupParent !== undefined && req.cgroupParent !== '') {
    if (!req.cgroupParent.startsWith('/')) {
      throw new InvalidArgumentError(
        `pod cgroup parent ${JSON.stringify(req.cgroupParent)}: must be a cgroupfs path`,
        {
          hint: 'berth drives cgroups through cgroupfs; run the kubelet with --cgroup-driver=cgroupfs',
        },
      );
    }
    checkCgroupsPath(req.cgroupParent);
  }
  if (req.sysctls !== undefined) validateSysctls(req.sysctls, { hostNetwork, hostIpc });
  const shmSize = checkShmSize(req.shmSizeBytes ?? DEFAULT_SHM_SIZE);
  return { request: { ...req, metadata }, hostname, hostNetwork, hostIpc, shmSize };
}
