// The pod sandbox service (layer 4): pods without a pause container (pinned net/ipc/uts namespaces,
// CRI-O's drop_infra_ctr design; a tiny infra process only for a pod-wide PID namespace) attached to the CNI network; see service.ts and the state machine in
// status.ts. Containers of a pod get its namespaces, /etc files, /dev/shm, sysctls and cgroup parent
// through `podSpecOpts`.

export {
  checkDnsConfig,
  MAX_DNS_SEARCHES,
  MAX_DNS_SERVERS,
  renderResolvConf,
} from './dns.ts';
export { writePodEtcFiles } from './etc-files.ts';
export { HOST_TOOL_DEADLINE_MS } from './host-tools.ts';
export { infraAlive, startInfra, stopInfra } from './infra.ts';
export { type PodDirs, type PodPaths, podPaths } from './layout.ts';
export { isPinned, pinNamespaces, unpinNamespaces } from './namespaces.ts';
export { POD_IFNAME, podAttachment, portMappings } from './network.ts';
export { fromRow, PodRecords, recordOf } from './records.ts';
export { newPodId, podNetwork, type RunDeps } from './run.ts';
export { PodService, type PodServiceDeps } from './service.ts';
export { checkShmSize, DEFAULT_SHM_SIZE, mountShm, unmountShm } from './shm.ts';
export {
  HOST_SHM,
  type PodContainerSettings,
  podContainerSettings,
  podSpecOpts,
  withPodCgroupParent,
} from './spec-opts.ts';
export { canStop, criState, isReady, mustBeReady } from './status.ts';
export {
  type SysctlContext,
  type SysctlNamespace,
  sysctlNamespace,
  validateSysctls,
  withSysctls,
} from './sysctls.ts';
export { removePodDir, teardownPod } from './teardown.ts';
export type * from './types.ts';
export { POD_RECORD_VERSION } from './types.ts';
export { checkRunRequest, podName } from './validate.ts';
