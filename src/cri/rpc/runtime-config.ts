// RuntimeService.RuntimeConfig: api.proto LinuxRuntimeConfiguration.cgroup_driver, "the cgroup driver
// used by the runtime" — the kubelet (1.28+ with KubeletCgroupDriverFromCRI) takes its own from
// this instead of its flag, so the two cannot disagree. berth drives cgroupfs directly (src/cgroups);
// it has no systemd driver.

import type { MessageInitShape } from '@bufbuild/protobuf';
import { CgroupDriver, type RuntimeConfigRequest, type RuntimeConfigResponseSchema } from '../gen/api_pb.js';

export function runtimeConfig(
  _req: RuntimeConfigRequest,
): MessageInitShape<typeof RuntimeConfigResponseSchema> {
  return { linux: { cgroupDriver: CgroupDriver.CGROUPFS } };
}
