import { readCgroupHost } from './detect.ts';
import type { CgroupDriver, CgroupHost } from './types.ts';
import { CgroupV1Driver } from './v1.ts';
import { CgroupV2Driver } from './v2.ts';

export { detectCgroupHost, parseProcCgroups, readCgroupHost } from './detect.ts';
export { CGROUP_REMOVE_DEADLINE_MS } from './files.ts';
export { exitReason, isOomKill, SIGKILL_EXIT_STATUS } from './oom.ts';
export { CGROUP_PARENT, checkCgroupsPath, containerCgroupsPath } from './paths.ts';
export type * from './types.ts';
export { CgroupV1Driver, CgroupV2Driver };

/** The cgroupfs driver for this host's layout (v1 and hybrid → v1 driver; v2 → v2 driver). */
export function cgroupDriver(host: CgroupHost = readCgroupHost()): CgroupDriver {
  return host.layout === 'v2' ? new CgroupV2Driver(host) : new CgroupV1Driver(host);
}
