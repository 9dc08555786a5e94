// RuntimeService.UpdateContainerResources and ReopenContainerLog.
// - Update: the new limits go to the runtime's `update` (runc/crun write the cgroup files) and, once
//   applied, into the record so ContainerStatus and a restart see them.
// - Reopen: conmon's ctl fifo message 2 makes it rename a fresh log over the path, after the kubelet
//   rotated the old one away (api.proto: "the runtime should create a new log file").

import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { containerPaths } from '../../containers/index.ts';
import { FailedPreconditionError } from '../../errdefs/index.ts';
import { ctlFifoPath, reopenContainerLog as reopen } from '../../shim/index.ts';
import { linuxResources } from '../container-request.ts';
import type {
  ReopenContainerLogRequest,
  ReopenContainerLogResponseSchema,
  UpdateContainerResourcesRequest,
  UpdateContainerResourcesResponseSchema,
} from '../gen/api_pb.js';
import type { ContainerRpcDeps } from './container-deps.ts';

export async function updateContainerResources(
  req: UpdateContainerResourcesRequest,
  deps: ContainerRpcDeps,
): Promise<MessageInitShape<typeof UpdateContainerResourcesResponseSchema>> {
  const resources = linuxResources(req.linux);
  if (resources === undefined || Object.keys(resources).length === 0) return {};
  const c = await deps.containers.get(req.containerId);
  if (c.status === 'running') {
    await deps.containers.deps.runtime(c.runtime).update(c.id, JSON.stringify(resources));
  }
  const pod = c.request.pod ?? {};
  deps.containers.records.save(c, c.status, {
    request: { ...c.request, pod: { ...pod, resources: { ...pod.resources, ...resources } } },
  });
  return {};
}

/** How long ReopenContainerLog waits for conmon's new log file. */
const REOPEN_WAIT_MS = 2000;

export async function reopenContainerLog(
  req: ReopenContainerLogRequest,
  deps: ContainerRpcDeps,
): Promise<MessageInitShape<typeof ReopenContainerLogResponseSchema>> {
  const c = await deps.containers.get(req.containerId);
  if (c.status !== 'running') {
    // api.proto: "the runtime should return an error if the container is not running".
    throw new FailedPreconditionError(`container ${c.name}: not running; its log cannot be reopened`);
  }
  await reopen(ctlFifoPath(containerPaths(deps.containers.deps.dirs, c.id).bundle));
  // conmon renames the new file into place after reading the message; the kubelet checks for it
  // as soon as the call returns (critest does too), so wait for it, briefly.
  for (let waited = 0; !existsSync(c.logPath) && waited < REOPEN_WAIT_MS; waited += 20) await sleep(20);
  return {};
}
