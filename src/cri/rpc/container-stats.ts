// RuntimeService.ContainerStats and ListContainerStats (filters: id prefix, pod sandbox id prefix,
// labels), over container-stats.ts.

import type { MessageInitShape } from '@bufbuild/protobuf';
import { NotFoundError } from '../../errdefs/index.ts';
import { containerStats as statsOf } from '../container-stats.ts';
import { criLabels, isCriContainer, sandboxOf } from '../container-view.ts';
import type {
  ContainerStatsRequest,
  ContainerStatsResponseSchema,
  ListContainerStatsRequest,
  ListContainerStatsResponseSchema,
} from '../gen/api_pb.js';
import type { ContainerRpcDeps } from './container-deps.ts';

export async function containerStats(
  req: ContainerStatsRequest,
  deps: ContainerRpcDeps,
): Promise<MessageInitShape<typeof ContainerStatsResponseSchema>> {
  const c = await deps.containers.get(req.containerId);
  if (!isCriContainer(c)) throw new NotFoundError(`container ${JSON.stringify(req.containerId)}: not found`);
  return { stats: await statsOf(deps.containers, c) };
}

export async function listContainerStats(
  req: ListContainerStatsRequest,
  deps: ContainerRpcDeps,
): Promise<MessageInitShape<typeof ListContainerStatsResponseSchema>> {
  const f = req.filter;
  const list = (await deps.containers.list()).filter((c) => {
    if (!isCriContainer(c) || c.status === 'removing') return false;
    if (f === undefined) return true;
    if (f.id !== '' && !c.id.startsWith(f.id)) return false;
    if (f.podSandboxId !== '' && !sandboxOf(c).startsWith(f.podSandboxId)) return false;
    const labels = criLabels(c);
    return Object.entries(f.labelSelector).every(([k, v]) => labels[k] === v);
  });
  return { stats: await Promise.all(list.map((c) => statsOf(deps.containers, c))) };
}
