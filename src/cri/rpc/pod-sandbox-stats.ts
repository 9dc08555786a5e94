// RuntimeService.PodSandboxStats and ListPodSandboxStats: a pod's CPU and memory as the sum of its
// containers' (each container has its own cgroup under the pod's parent), its process count, and each
// container's stats. Network counters are not reported yet (they need a read inside the pod's netns).

import type { MessageInitShape } from '@bufbuild/protobuf';
import { cgroupsPathOf } from '../../containers/index.ts';
import { NotFoundError } from '../../errdefs/index.ts';
import type { Pod } from '../../pods/index.ts';
import { containerStats } from '../container-stats.ts';
import { isCriContainer, sandboxOf } from '../container-view.ts';
import type {
  ListPodSandboxStatsRequest,
  ListPodSandboxStatsResponseSchema,
  PodSandboxStatsRequest,
  PodSandboxStatsResponseSchema,
  PodSandboxStatsSchema,
} from '../gen/api_pb.js';
import type { PodRpcDeps } from './pod-sandbox.ts';

async function statsOf(deps: PodRpcDeps, pod: Pod): Promise<MessageInitShape<typeof PodSandboxStatsSchema>> {
  const containers = (await deps.containers.list()).filter(
    (c) => isCriContainer(c) && sandboxOf(c) === pod.id,
  );
  const stats = await Promise.all(containers.map((c) => containerStats(deps.containers, c)));
  const now = BigInt(Date.now()) * 1_000_000n;
  let cpu = 0n;
  let cores = 0n;
  let memory = 0n;
  let processes = 0;
  for (const s of stats) {
    cpu += s.cpu?.usageCoreNanoSeconds?.value ?? 0n;
    cores += s.cpu?.usageNanoCores?.value ?? 0n;
    memory += s.memory?.workingSetBytes?.value ?? 0n;
  }
  for (const c of containers) {
    if (c.status !== 'running') continue;
    const pids = await deps.containers.deps.cgroups.pids(cgroupsPathOf(c)).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined; // exited meanwhile
      throw err;
    });
    processes += pids?.current ?? 0;
  }
  return {
    attributes: {
      id: pod.id,
      metadata: pod.request.metadata,
      labels: pod.request.labels ?? {},
      annotations: pod.request.annotations ?? {},
    },
    linux: {
      cpu: { timestamp: now, usageCoreNanoSeconds: { value: cpu }, usageNanoCores: { value: cores } },
      memory: { timestamp: now, workingSetBytes: { value: memory }, usageBytes: { value: memory } },
      process: { timestamp: now, processCount: { value: BigInt(processes) } },
      containers: stats,
    },
  };
}

export async function podSandboxStats(
  req: PodSandboxStatsRequest,
  deps: PodRpcDeps,
  signal: AbortSignal,
): Promise<MessageInitShape<typeof PodSandboxStatsResponseSchema>> {
  return { stats: await statsOf(deps, await deps.pods.get(req.podSandboxId, { signal })) };
}

export async function listPodSandboxStats(
  req: ListPodSandboxStatsRequest,
  deps: PodRpcDeps,
  signal: AbortSignal,
): Promise<MessageInitShape<typeof ListPodSandboxStatsResponseSchema>> {
  const f = req.filter;
  const pods = (await deps.pods.list({ signal })).filter((p) => {
    if (p.status !== 'ready') return false;
    if (f === undefined) return true;
    if (f.id !== '' && !p.id.startsWith(f.id)) return false;
    return Object.entries(f.labelSelector).every(([k, v]) => p.request.labels?.[k] === v);
  });
  return { stats: await Promise.all(pods.map((p) => statsOf(deps, p))) };
}
