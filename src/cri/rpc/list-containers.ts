// RuntimeService.ListContainers and ContainerStatus. Only containers the CRI created are listed
// (berth's CLI containers share the store, as containerd's CRI shows only its k8s.io namespace).
// Filters as api.proto says: id (a prefix of it, as crictl passes), state, pod sandbox id (prefix),
// and every label of the selector.

import type { MessageInitShape } from '@bufbuild/protobuf';
import { NotFoundError } from '../../errdefs/index.ts';
import {
  criLabels,
  criState,
  isCriContainer,
  sandboxOf,
  toCriContainer,
  toCriStatus,
} from '../container-view.ts';
import type {
  ContainerStatusRequest,
  ContainerStatusResponseSchema,
  ListContainersRequest,
  ListContainersResponseSchema,
} from '../gen/api_pb.js';
import type { ContainerRpcDeps } from './container-deps.ts';

export async function listContainers(
  req: ListContainersRequest,
  deps: ContainerRpcDeps,
): Promise<MessageInitShape<typeof ListContainersResponseSchema>> {
  const f = req.filter;
  const list = (await deps.containers.list()).filter((c) => {
    if (!isCriContainer(c) || c.status === 'removing') return false;
    if (f === undefined) return true;
    if (f.id !== '' && !c.id.startsWith(f.id)) return false;
    if (f.state !== undefined && criState(c) !== f.state.state) return false;
    if (f.podSandboxId !== '' && !sandboxOf(c).startsWith(f.podSandboxId)) return false;
    const labels = criLabels(c);
    return Object.entries(f.labelSelector).every(([k, v]) => labels[k] === v);
  });
  return { containers: list.map(toCriContainer) };
}

export async function containerStatus(
  req: ContainerStatusRequest,
  deps: ContainerRpcDeps,
): Promise<MessageInitShape<typeof ContainerStatusResponseSchema>> {
  const c = await deps.containers.get(req.containerId);
  if (!isCriContainer(c)) throw new NotFoundError(`container ${JSON.stringify(req.containerId)}: not found`);
  const info: Record<string, string> = {};
  if (req.verbose) {
    // crictl inspect prints info["info"] as JSON: the pid, the runtime, the spec it runs with.
    info.info = JSON.stringify({
      pid: c.pid ?? 0,
      sandboxID: sandboxOf(c),
      runtimeType: c.runtime,
      snapshotKey: c.snapshotKey,
      config: c.request,
      runtimeSpec: c.spec ?? null,
    });
  }
  return { status: toCriStatus(c), info };
}
