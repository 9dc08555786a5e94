// The container lifecycle service (layer 4): from an image in the store to a running, isolated
// process and back (design.md "Run"); see service.ts and the state machine in status.ts.

export { CGROUP_NAMESPACE, containerSpec, hostnameOf, specOpts } from './container-spec.ts';
export { snapshotKeyOf } from './create.ts';
export type { ContainerServiceDeps, ImageLookup } from './deps.ts';
export { ContainerCommandError, commandError } from './errors.ts';
export { resolvConf } from './etc-files.ts';
export type { ExecRequest } from './exec.ts';
export { hostFacts, parseCapabilityMask, parseHardLimits } from './host-facts.ts';
export { type ContainerDirs, type ContainerPaths, containerPaths } from './layout.ts';
export {
  checkContainerName,
  MAX_NAME_LENGTH,
  newContainerId,
  randomName,
  SHORT_ID_LENGTH,
  shortId,
} from './names.ts';
export { ContainerRecords, imagesInUse } from './records.ts';
export { ContainerService, DEFAULT_STOP_TIMEOUT_S } from './service.ts';
export { ago, canStart, describeStatus, isLive } from './status.ts';
export { cgroupsPathOf } from './teardown.ts';
export type * from './types.ts';
export { parseVolume, volumesFor } from './volumes.ts';
