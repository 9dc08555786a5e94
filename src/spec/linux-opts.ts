// Namespaces, the cgroup path and cgroup limits (containerd pkg/oci/spec_opts.go
// WithHostNamespace, WithLinuxNamespace, WithMemoryLimit, WithPidsLimit; Docker's `--cpus`).

import { InvalidArgumentError } from '../errdefs/index.ts';
import { type NamespaceType, namespaceTypes } from '../oci/runtime/index.ts';
import { linuxOf, resourcesOf } from './generate.ts';
import type { SpecOpt } from './types.ts';

function checkType(type: string): NamespaceType {
  if (!(namespaceTypes as readonly string[]).includes(type)) {
    throw new InvalidArgumentError(
      `namespace type ${JSON.stringify(type)}: not one of ${namespaceTypes.join(', ')}`,
    );
  }
  return type as NamespaceType;
}

/** Shares the host's namespace of `type`: the entry is removed, so the runtime creates none. */
export function withHostNamespace(type: NamespaceType): SpecOpt {
  const t = checkType(type);
  return (spec) => {
    const linux = linuxOf(spec);
    linux.namespaces = (linux.namespaces ?? []).filter((ns) => ns.type !== t);
  };
}

/** Joins an existing namespace (a pod's pinned netns, another container's), replacing the entry. */
export function withNamespacePath(type: NamespaceType, path: string): SpecOpt {
  const t = checkType(type);
  // config-linux.md "Namespaces": path MUST be an absolute path in the runtime mount namespace.
  if (!path.startsWith('/'))
    throw new InvalidArgumentError(`namespace ${t} path ${JSON.stringify(path)}: must be absolute`);
  return (spec) => {
    const linux = linuxOf(spec);
    const others = (linux.namespaces ?? []).filter((ns) => ns.type !== t);
    const at = (linux.namespaces ?? []).findIndex((ns) => ns.type === t);
    others.splice(at === -1 ? others.length : at, 0, { type: t, path });
    linux.namespaces = others;
  };
}

export function withCgroupsPath(path: string): SpecOpt {
  if (path === '') throw new InvalidArgumentError('cgroups path: must not be empty');
  return (spec) => {
    linuxOf(spec).cgroupsPath = path;
  };
}

/** Docker's smallest `--memory`: below it the container cannot even start its process reliably. */
export const MIN_MEMORY_LIMIT = 6 * 1024 * 1024;

/**
 * `--memory`: the cgroup memory limit in bytes. Swap is left to the cgroup's default unless
 * `swap` (memory + swap, as the runtime-spec's `memory.swap` means it) is given.
 */
export function withMemoryLimit(bytes: number, swap?: number): SpecOpt {
  if (!Number.isSafeInteger(bytes) || bytes < MIN_MEMORY_LIMIT) {
    throw new InvalidArgumentError(
      `memory limit ${bytes}: must be an integer of at least ${MIN_MEMORY_LIMIT} bytes (6 MiB)`,
    );
  }
  if (swap !== undefined && swap !== -1 && (!Number.isSafeInteger(swap) || swap < bytes)) {
    throw new InvalidArgumentError(
      `memory+swap limit ${swap}: must be -1 (unlimited) or at least the memory limit ${bytes}`,
    );
  }
  return (spec) => {
    const resources = resourcesOf(spec);
    resources.memory = { ...resources.memory, limit: bytes };
    if (swap !== undefined) resources.memory.swap = swap;
  };
}

/** The CFS period Docker uses for `--cpus`: 100 ms (moby daemon/daemon_unix.go). */
export const CPU_PERIOD = 100_000;

/** `--cpus 1.5`: a CFS quota of 1.5 periods; from 0.01 CPU (a 1 ms quota, the kernel's minimum). */
export function withCPUs(cpus: number): SpecOpt {
  if (!Number.isFinite(cpus) || cpus < 0.01) {
    throw new InvalidArgumentError(`cpus ${cpus}: must be a number of at least 0.01`);
  }
  return (spec) => {
    const resources = resourcesOf(spec);
    resources.cpu = { ...resources.cpu, period: CPU_PERIOD, quota: Math.round(cpus * CPU_PERIOD) };
  };
}

/** `--pids-limit`: at most `limit` tasks in the cgroup; 0 or -1 means unlimited, as in Docker. */
export function withPidsLimit(limit: number): SpecOpt {
  if (!Number.isSafeInteger(limit) || limit < -1) {
    throw new InvalidArgumentError(
      `pids limit ${limit}: must be a positive integer, or 0 or -1 for no limit`,
    );
  }
  return (spec) => {
    const resources = resourcesOf(spec);
    if (limit <= 0) delete resources.pids;
    else resources.pids = { limit };
  };
}
