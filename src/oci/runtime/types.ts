// The runtime-spec's config.json as TypeScript types (runtime-spec 1.2: config.md,
// config-linux.md; the state document is in state.ts). Field names are the spec's, so these types
// are the wire format of a bundle's config.json. Only the Linux platform is modelled; the
// fields of other platforms (windows, solaris, vm, zos, freebsd) are not written by berth.

/**
 * The runtime-spec version berth writes in config.json (config.md: ociVersion, SemVer 2.0.0). The
 * types model 1.2, but the documents berth writes use no field added after 1.1, and Debian's crun
 * 1.8.1 refuses any "1.2.x" with "unknown version specified" (it compares versions as prefixes,
 * not as SemVer), so 1.1.0 keeps both runc and crun working.
 */
export const OCI_RUNTIME_VERSION = '1.1.0';

export interface Spec {
  ociVersion: string;
  process?: Process;
  root?: Root;
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

export interface Box {
  height: number;
  width: number;
}

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

/** config.md "Linux process": each set lists capability names such as `CAP_CHOWN`. */
export interface Capabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

/** config.md "POSIX process": `type` is `RLIMIT_<NAME>`; values are uint64. */
export interface Rlimit {
  type: string;
  soft: number;
  hard: number;
}

export interface Process {
  terminal?: boolean;
  consoleSize?: Box;
  user: User;
  args?: string[];
  env?: string[];
  /** config.md: REQUIRED, an absolute path. */
  cwd: string;
  capabilities?: Capabilities;
  rlimits?: Rlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

export interface Root {
  path: string;
  readonly?: boolean;
}

export interface IDMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  uidMappings?: IDMapping[];
  gidMappings?: IDMapping[];
}

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface Hooks {
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

/** config-linux.md "Namespaces". */
export const namespaceTypes = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;
export type NamespaceType = (typeof namespaceTypes)[number];

export interface Namespace {
  type: NamespaceType;
  path?: string;
}

/** config-linux.md "Devices": a node created in the container. */
export interface Device {
  type: string;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** config-linux.md "Device allowlist": one rule of the devices cgroup. */
export interface DeviceCgroup {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

export interface Memory {
  limit?: number;
  reservation?: number;
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface CPU {
  shares?: number;
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface Pids {
  limit: number;
}

export interface HugepageLimit {
  pageSize: string;
  limit: number;
}

export interface Resources {
  devices?: DeviceCgroup[];
  memory?: Memory;
  cpu?: CPU;
  pids?: Pids;
  hugepageLimits?: HugepageLimit[];
  /** cgroup v2 files written as they are (config-linux.md "Unified"). */
  unified?: Record<string, string>;
}

export const seccompActions = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;
export type SeccompAction = (typeof seccompActions)[number];

export const seccompOperators = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
export type SeccompOperator = (typeof seccompOperators)[number];

export interface SyscallArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOperator;
}

export interface Syscall {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SyscallArg[];
}

/** config-linux.md "Seccomp"; `architectures` are `SCMP_ARCH_*` names. */
export interface Seccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: Syscall[];
}

export const rootfsPropagations = ['private', 'shared', 'slave', 'unbindable'] as const;
export type RootfsPropagation = (typeof rootfsPropagations)[number];

export interface Linux {
  namespaces?: Namespace[];
  uidMappings?: IDMapping[];
  gidMappings?: IDMapping[];
  devices?: Device[];
  cgroupsPath?: string;
  resources?: Resources;
  sysctl?: Record<string, string>;
  seccomp?: Seccomp;
  rootfsPropagation?: RootfsPropagation;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
}
