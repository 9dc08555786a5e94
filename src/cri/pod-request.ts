// RunPodSandbox's PodSandboxConfig (api.proto) → the pod service's RunPodRequest, and a Pod back to
// the CRI's PodSandbox / PodSandboxStatus messages.

import type { MessageInitShape } from '@bufbuild/protobuf';
import { InvalidArgumentError } from '../errdefs/index.ts';
import type { NamespaceOptions, Pod, RunPodRequest } from '../pods/index.ts';
import { criState as podCriState } from '../pods/index.ts';
import { nanos } from './container-view.ts';
import {
  NamespaceMode,
  type NamespaceOption,
  type PodSandboxConfig,
  type PodSandboxSchema,
  PodSandboxState,
  type PodSandboxStatusSchema,
  Protocol,
} from './gen/api_pb.js';

const protocols: Record<Protocol, 'TCP' | 'UDP' | 'SCTP'> = {
  [Protocol.TCP]: 'TCP',
  [Protocol.UDP]: 'UDP',
  [Protocol.SCTP]: 'SCTP',
};

function namespaces(o: NamespaceOption | undefined): NamespaceOptions {
  const mode = (m: NamespaceMode | undefined) => (m === NamespaceMode.NODE ? 'node' : 'pod');
  return {
    network: mode(o?.network),
    ipc: mode(o?.ipc),
    pid: o?.pid === NamespaceMode.NODE ? 'node' : o?.pid === NamespaceMode.POD ? 'pod' : 'container',
  };
}

export function runPodRequest(config: PodSandboxConfig, runtimeHandler: string): RunPodRequest {
  const m = config.metadata;
  if (m === undefined || m.name === '' || m.uid === '' || m.namespace === '') {
    throw new InvalidArgumentError('RunPodSandbox: metadata name, uid and namespace are required');
  }
  const linux = config.linux;
  const req: RunPodRequest = {
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, attempt: m.attempt },
    labels: { ...config.labels },
    annotations: { ...config.annotations },
    portMappings: config.portMappings.map((p) => ({
      protocol: protocols[p.protocol] ?? 'TCP',
      containerPort: p.containerPort,
      ...(p.hostPort > 0 ? { hostPort: p.hostPort } : {}),
      ...(p.hostIp === '' ? {} : { hostIp: p.hostIp }),
    })),
    namespaces: namespaces(linux?.securityContext?.namespaceOptions),
  };
  if (config.hostname !== '') req.hostname = config.hostname;
  if (config.logDirectory !== '') req.logDirectory = config.logDirectory;
  if (config.dnsConfig !== undefined) {
    req.dnsConfig = {
      servers: config.dnsConfig.servers,
      searches: config.dnsConfig.searches,
      options: config.dnsConfig.options,
    };
  }
  if (linux?.cgroupParent) req.cgroupParent = linux.cgroupParent;
  if (linux !== undefined && Object.keys(linux.sysctls).length > 0) req.sysctls = { ...linux.sysctls };
  if (runtimeHandler !== '') req.runtimeHandler = runtimeHandler;
  return req;
}

function state(p: Pod): PodSandboxState {
  return podCriState(p.status) === 'SANDBOX_READY'
    ? PodSandboxState.SANDBOX_READY
    : PodSandboxState.SANDBOX_NOTREADY;
}

function common(p: Pod) {
  return {
    id: p.id,
    metadata: p.request.metadata,
    state: state(p),
    createdAt: nanos(p.createdAt),
    labels: p.request.labels ?? {},
    annotations: p.request.annotations ?? {},
    runtimeHandler: p.request.runtimeHandler ?? '',
  };
}

export function toPodSandbox(p: Pod): MessageInitShape<typeof PodSandboxSchema> {
  return common(p);
}

export function toPodSandboxStatus(p: Pod): MessageInitShape<typeof PodSandboxStatusSchema> {
  const [ip, ...more] = p.ips;
  const ns = p.request.namespaces;
  const mode = (m: string | undefined) =>
    m === 'node' ? NamespaceMode.NODE : m === 'container' ? NamespaceMode.CONTAINER : NamespaceMode.POD;
  return {
    ...common(p),
    network: { ip: ip ?? '', additionalIps: more.map((x) => ({ ip: x })) },
    linux: {
      namespaces: {
        options: { network: mode(ns?.network), ipc: mode(ns?.ipc), pid: mode(ns?.pid ?? 'container') },
      },
    },
  };
}
