// CreateContainer's ContainerConfig (api.proto) → the container service's CreateRequest, for a
// container of a pod. Each field keeps its api.proto meaning:
// - command replaces the image's Entrypoint, args its Cmd (Kubernetes' rule; Docker's combine in
//   spec/image-config.ts gives the same result);
// - run_as_user / run_as_username with run_as_group become `uid[:gid]` / `name[:gid]`;
// - mounts keep their propagation (PRIVATE → rprivate, HOST_TO_CONTAINER → rslave, BIDIRECTIONAL →
//   rshared), as containerd's CRI plugin maps them;
// - devices become device nodes plus device-cgroup rules with the given permissions;
// - the container joins the pod's pinned net/ipc/uts namespaces (or the host's) and, when it asks
//   for PID POD, the pod's shared PID namespace (else its own or the host's); it gets the pod's /etc
//   files, /dev/shm and cgroup parent, and logs to <pod log_directory>/<log_path>.

import { createHash } from 'node:crypto';
import { join, normalize } from 'node:path';
import {
  type CreateRequest,
  MAX_NAME_LENGTH,
  type NamespaceJoin,
  type PodSettings,
  type SeccompChoice,
} from '../containers/index.ts';
import { InvalidArgumentError } from '../errdefs/index.ts';
import type { Device, Mount, Resources } from '../oci/runtime/index.ts';
import type { RuntimeName } from '../runtime/types.ts';
import {
  type ContainerConfig,
  type LinuxContainerResources,
  MountPropagation,
  NamespaceMode,
  type SecurityProfile,
  SecurityProfile_ProfileType,
} from './gen/api_pb.js';

/** What CreateContainer needs to know of the pod the container joins. */
export interface PodView {
  id: string;
  /** Pinned namespace files; absent: the host's namespace (hostNetwork, hostIPC). */
  netns?: string;
  ipcns?: string;
  utsns?: string;
  /** The pod's shared PID namespace (its infra process's), when the pod asked for one. */
  pidns?: string;
  cgroupParent?: string;
  logDirectory?: string;
  etcFiles: { hostname?: string; hosts?: string; resolvConf?: string };
  /** The pod's /dev/shm tmpfs; absent with host IPC (the host's /dev/shm is not shared). */
  shm?: string;
  runtimeHandler?: RuntimeName;
  sysctls?: Record<string, string>;
  /** `<pod name>_<namespace>_<uid>`: containers are named `k8s_<container>_<this>_<attempt>` (containerd's form). */
  nameSuffix: string;
  /** The pod's host name: every container of the pod shares it (and the pod's UTS namespace). */
  hostname: string;
}

/** How berth remembers a CRI container's origin (CreateRequest.labels keys). */
export const CRI_SANDBOX_LABEL = 'io.berth.cri.sandbox-id';
export const CRI_NAME_LABEL = 'io.berth.cri.name';
export const CRI_ATTEMPT_LABEL = 'io.berth.cri.attempt';
export const CRI_IMAGE_LABEL = 'io.berth.cri.image';
/** CRI labels are kept under this prefix so berth's own labels never collide with them. */
export const CRI_USER_LABEL_PREFIX = 'io.berth.cri.label/';

const propagation: Record<MountPropagation, string> = {
  [MountPropagation.PROPAGATION_PRIVATE]: 'rprivate',
  [MountPropagation.PROPAGATION_HOST_TO_CONTAINER]: 'rslave',
  [MountPropagation.PROPAGATION_BIDIRECTIONAL]: 'rshared',
};

function user(config: ContainerConfig): string | undefined {
  const sc = config.linux?.securityContext;
  if (sc === undefined) return undefined;
  const group = sc.runAsGroup === undefined ? '' : `:${sc.runAsGroup.value}`;
  if (sc.runAsUsername !== '') return `${sc.runAsUsername}${group}`;
  if (sc.runAsUser !== undefined) return `${sc.runAsUser.value}${group}`;
  if (group !== '') {
    throw new InvalidArgumentError(
      'security context: run_as_group given without run_as_user or run_as_username',
    );
  }
  return undefined;
}

function mounts(config: ContainerConfig): Mount[] {
  return config.mounts.map((m) => {
    if (!m.hostPath.startsWith('/')) {
      throw new InvalidArgumentError(`mount ${JSON.stringify(m.containerPath)}: host_path must be absolute`);
    }
    return {
      destination: m.containerPath,
      type: 'bind',
      source: normalize(m.hostPath),
      options: ['rbind', propagation[m.propagation] ?? 'rprivate', m.readonly ? 'ro' : 'rw'],
    };
  });
}

/** CRI devices need the host node's type and numbers; the caller stats them (statDevice). */
export interface DeviceFacts {
  type: 'c' | 'b';
  major: number;
  minor: number;
}

function seccomp(profile: SecurityProfile | undefined, legacyPath: string): SeccompChoice | undefined {
  if (profile === undefined) {
    // Before `seccomp`, the path form: "runtime/default", "docker/default", "unconfined", "localhost/<path>".
    // api.proto: neither field set means unconfined (the kubelet sends RuntimeDefault explicitly).
    if (legacyPath === '') return { kind: 'unconfined' };
    if (legacyPath === 'runtime/default' || legacyPath === 'docker/default')
      return { kind: 'runtime-default' };
    if (legacyPath === 'unconfined') return { kind: 'unconfined' };
    if (legacyPath.startsWith('localhost/'))
      return { kind: 'localhost', path: legacyPath.slice('localhost/'.length) };
    throw new InvalidArgumentError(`seccomp_profile_path ${JSON.stringify(legacyPath)}: not understood`);
  }
  switch (profile.profileType) {
    case SecurityProfile_ProfileType.RuntimeDefault:
      return { kind: 'runtime-default' };
    case SecurityProfile_ProfileType.Unconfined:
      return { kind: 'unconfined' };
    case SecurityProfile_ProfileType.Localhost:
      return { kind: 'localhost', path: profile.localhostRef };
  }
  throw new InvalidArgumentError(`seccomp profile type ${profile.profileType}: unknown`);
}

/** LinuxContainerResources → runtime-spec resources (zero means "not set" in api.proto). */
export function linuxResources(r: LinuxContainerResources | undefined): Resources | undefined {
  if (r === undefined) return undefined;
  const out: Resources = {};
  const n = (v: bigint) => Number(v);
  if (r.memoryLimitInBytes > 0n) {
    out.memory = { limit: n(r.memoryLimitInBytes) };
    if (r.memorySwapLimitInBytes > 0n) out.memory.swap = n(r.memorySwapLimitInBytes);
  }
  const cpu: NonNullable<Resources['cpu']> = {};
  if (r.cpuShares > 0n) cpu.shares = n(r.cpuShares);
  if (r.cpuQuota > 0n) cpu.quota = n(r.cpuQuota);
  if (r.cpuPeriod > 0n) cpu.period = n(r.cpuPeriod);
  if (r.cpusetCpus !== '') cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems !== '') cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  if (r.hugepageLimits.length > 0)
    out.hugepageLimits = r.hugepageLimits.map((h) => ({ pageSize: h.pageSize, limit: n(h.limit) }));
  if (Object.keys(r.unified).length > 0) out.unified = { ...r.unified };
  return out;
}

/**
 * containerd's `k8s_<container>_<pod>_<namespace>_<uid>_<attempt>`, cut to berth's name limit with a
 * hash of the whole kept at the end, so two long names never meet (critest's names run to ~170).
 */
export function containerName(full: string): string {
  if (full.length <= MAX_NAME_LENGTH) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 16);
  return `${full.slice(0, MAX_NAME_LENGTH - hash.length - 1)}_${hash}`;
}

export function createRequest(
  config: ContainerConfig,
  pod: PodView,
  imageName: string,
  devices: (hostPath: string) => DeviceFacts,
): CreateRequest {
  const meta = config.metadata;
  if (meta === undefined || meta.name === '')
    throw new InvalidArgumentError('container config: metadata.name is required');
  const sc = config.linux?.securityContext;
  const ns = sc?.namespaceOptions;
  const namespaces: NamespaceJoin[] = [
    pod.netns === undefined ? { type: 'network' } : { type: 'network', path: pod.netns },
    pod.ipcns === undefined ? { type: 'ipc' } : { type: 'ipc', path: pod.ipcns },
    ...(pod.utsns === undefined ? [] : [{ type: 'uts' as const, path: pod.utsns }]),
    ...(ns?.pid === NamespaceMode.NODE ? [{ type: 'pid' as const }] : []),
  ];
  if (ns?.pid === NamespaceMode.POD) {
    if (pod.pidns === undefined) {
      throw new InvalidArgumentError('namespace_options.pid POD: the pod has no shared PID namespace', {
        hint: 'run the pod sandbox with namespace_options.pid POD too',
      });
    }
    namespaces.push({ type: 'pid', path: pod.pidns });
  }
  const deviceList: Device[] = [];
  for (const d of config.devices) {
    const facts = devices(d.hostPath);
    deviceList.push({ path: d.containerPath, type: facts.type, major: facts.major, minor: facts.minor });
  }
  const logPath =
    pod.logDirectory !== undefined && pod.logDirectory !== '' && config.logPath !== ''
      ? join(pod.logDirectory, config.logPath)
      : undefined;
  const podMounts = mounts(config);
  if (pod.shm !== undefined) {
    podMounts.unshift({
      destination: '/dev/shm',
      type: 'bind',
      source: pod.shm,
      options: ['rbind', 'rprivate', 'rw'],
    });
  }
  const choice = seccomp(sc?.seccomp, sc?.seccompProfilePath ?? '');
  const resources = linuxResources(config.linux?.resources);
  const settings: PodSettings = {
    namespaces,
    ...(pod.cgroupParent === undefined ? {} : { cgroupParent: pod.cgroupParent }),
    annotations: {
      ...config.annotations,
      'io.kubernetes.cri.container-type': 'container',
      'io.kubernetes.cri.container-name': meta.name,
      'io.kubernetes.cri.sandbox-id': pod.id,
      'io.kubernetes.cri.image-name': imageName,
    },
    ...(pod.sysctls === undefined ? {} : { sysctls: pod.sysctls }),
    mounts: podMounts,
    devices: deviceList,
    ...(choice === undefined ? {} : { seccomp: choice }),
    ...(sc !== undefined && sc.maskedPaths.length > 0 ? { maskedPaths: sc.maskedPaths } : {}),
    ...(sc !== undefined && sc.readonlyPaths.length > 0 ? { readonlyPaths: sc.readonlyPaths } : {}),
    // Kubernetes' allowPrivilegeEscalation defaults to true: no_new_privs only when asked.
    noNewPrivileges: sc?.noNewPrivs === true,
    ...(sc !== undefined && sc.supplementalGroups.length > 0
      ? { supplementalGroups: sc.supplementalGroups.map(Number) }
      : {}),
    ...(resources === undefined ? {} : { resources }),
    etcFiles: pod.etcFiles,
    ...(logPath === undefined ? {} : { logPath }),
    ...(config.linux?.resources !== undefined && config.linux.resources.oomScoreAdj !== 0n
      ? { oomScoreAdj: Number(config.linux.resources.oomScoreAdj) }
      : {}),
    stdinOnce: config.stdinOnce,
  };
  const labels: Record<string, string> = {
    [CRI_SANDBOX_LABEL]: pod.id,
    [CRI_NAME_LABEL]: meta.name,
    [CRI_ATTEMPT_LABEL]: String(meta.attempt),
    [CRI_IMAGE_LABEL]: config.image?.image ?? '',
  };
  for (const [k, v] of Object.entries(config.labels)) labels[`${CRI_USER_LABEL_PREFIX}${k}`] = v;
  const u = user(config);
  const req: CreateRequest = {
    image: imageName,
    name: containerName(`k8s_${meta.name}_${pod.nameSuffix}_${meta.attempt}`),
    hostname: pod.hostname,
    env: config.envs.map((e) => `${e.key}=${e.value}`),
    labels,
    pod: settings,
    // The pod's network: none of berth's own (the pinned netns, or the host's with hostNetwork).
    network: pod.netns === undefined ? 'host' : 'none',
    tty: config.tty,
    stdin: config.stdin,
    readonlyRootfs: sc?.readonlyRootfs === true,
    privileged: sc?.privileged === true,
    capAdd: sc?.capabilities?.addCapabilities ?? [],
    capDrop: sc?.capabilities?.dropCapabilities ?? [],
  };
  if (config.command.length > 0) req.entrypoint = [...config.command];
  if (config.args.length > 0) req.args = [...config.args];
  if (config.workingDir !== '') req.workingDir = config.workingDir;
  if (u !== undefined) req.user = u;
  if (pod.runtimeHandler !== undefined) req.runtime = pod.runtimeHandler;
  return req;
}
