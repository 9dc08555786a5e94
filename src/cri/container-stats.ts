// ContainerStats for the CRI (api.proto ContainerStats): CPU and memory from the container's cgroup
// (cgroups driver), the writable layer's use from the snapshotter. usage_nano_cores is a rate, so it
// needs two samples: the previous one per container is kept here (as containerd's CRI plugin does),
// and the first sample reports none. A stopped container has no cgroup: only its layer is reported.

import type { MessageInitShape } from '@bufbuild/protobuf';
import { type Container, type ContainerService, cgroupsPathOf, containerPaths } from '../containers/index.ts';
import { NotFoundError } from '../errdefs/index.ts';
import { CRI_ATTEMPT_LABEL, CRI_NAME_LABEL } from './container-request.ts';
import { criAnnotations, criLabels } from './container-view.ts';
import type { ContainerStatsSchema } from './gen/api_pb.js';

const previous = new Map<string, { at: bigint; usage: bigint }>();

const u64 = (v: number | bigint) => ({ value: BigInt(v) });

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined; // the cgroup is gone: the container stopped
    throw err;
  }
}

export async function containerStats(
  containers: ContainerService,
  c: Container,
): Promise<MessageInitShape<typeof ContainerStatsSchema>> {
  const now = BigInt(Date.now()) * 1_000_000n;
  const path = cgroupsPathOf(c);
  const live = c.status === 'running';
  const { cgroups, snapshotter } = containers.deps;
  const [cpu, memory, layer] = await Promise.all([
    live ? orUndefined(cgroups.cpu(path)) : undefined,
    live ? orUndefined(cgroups.memory(path)) : undefined,
    orUndefined(snapshotter.usage(c.snapshotKey)),
  ]);
  const labels = c.request.labels ?? {};
  const out: MessageInitShape<typeof ContainerStatsSchema> = {
    attributes: {
      id: c.id,
      metadata: { name: labels[CRI_NAME_LABEL] ?? c.name, attempt: Number(labels[CRI_ATTEMPT_LABEL] ?? 0) },
      labels: criLabels(c),
      annotations: criAnnotations(c),
    },
    writableLayer: {
      timestamp: now,
      fsId: { mountpoint: containerPaths(containers.deps.dirs, c.id).rootfs },
      ...(layer === undefined ? {} : { usedBytes: u64(layer.size), inodesUsed: u64(layer.inodes) }),
    },
  };
  if (cpu !== undefined) {
    const usage = BigInt(cpu.usageNanos);
    const prev = previous.get(c.id);
    previous.set(c.id, { at: now, usage });
    const rate =
      prev !== undefined && now > prev.at
        ? ((usage - prev.usage) * 1_000_000_000n) / (now - prev.at)
        : undefined;
    out.cpu = {
      timestamp: now,
      usageCoreNanoSeconds: u64(usage),
      ...(rate === undefined || rate < 0n ? {} : { usageNanoCores: u64(rate) }),
    };
  } else {
    previous.delete(c.id);
  }
  if (memory !== undefined) {
    out.memory = {
      timestamp: now,
      usageBytes: u64(memory.usageBytes),
      // Without the page cache split (memory.stat), usage stands in for the working set.
      workingSetBytes: u64(memory.usageBytes),
      ...(memory.limitBytes === undefined
        ? {}
        : { availableBytes: u64(Math.max(0, memory.limitBytes - memory.usageBytes)) }),
    };
  }
  return out;
}
