// The cgroupfs driver for cgroup v1, and for hybrid hosts (v1 controllers plus a cgroup2 mount, where
// runc also makes the container's directory in the unified hierarchy). File names are the kernel's
// Documentation/admin-guide/cgroup-v1/{memory,cpuacct,pids}.rst.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UnavailableError } from '../errdefs/index.ts';
import { readKeyed, readNumber, readOptionalNumber, removeDirs } from './files.ts';
import { checkCgroupsPath } from './paths.ts';
import type { CgroupDriver, CgroupHost, CpuStats, MemoryStats, OomStatus, PidsStats } from './types.ts';

// A v1 "unlimited" memory limit is PAGE_COUNTER_MAX pages, shown as a huge number near 2^63.
const V1_UNLIMITED = 2 ** 62;

export class CgroupV1Driver implements CgroupDriver {
  readonly host: CgroupHost;

  constructor(host: CgroupHost) {
    this.host = host;
  }

  dirs(cgroupsPath: string): string[] {
    const p = checkCgroupsPath(cgroupsPath);
    const roots = new Set(Object.values(this.host.v1));
    if (this.host.unified !== undefined) roots.add(this.host.unified);
    return [...roots].map((root) => join(root, p));
  }

  existing(cgroupsPath: string): string[] {
    return this.dirs(cgroupsPath).filter((d) => existsSync(d));
  }

  #dir(controller: string, cgroupsPath: string): string {
    const root = this.host.v1[controller];
    if (root === undefined) throw new UnavailableError(`cgroup v1 controller ${controller}: not mounted`);
    return join(root, checkCgroupsPath(cgroupsPath));
  }

  /** memory.oom_control's `oom_kill` (kernel 4.13+) and memory.failcnt. */
  async oom(cgroupsPath: string): Promise<OomStatus> {
    const dir = this.#dir('memory', cgroupsPath);
    const control = await readKeyed(join(dir, 'memory.oom_control'));
    return {
      oomKills: control.oom_kill ?? 0,
      limitHits: (await readNumber(join(dir, 'memory.failcnt'))) ?? 0,
    };
  }

  async memory(cgroupsPath: string): Promise<MemoryStats> {
    const dir = this.#dir('memory', cgroupsPath);
    const limit = await readNumber(join(dir, 'memory.limit_in_bytes'));
    const out: MemoryStats = { usageBytes: (await readNumber(join(dir, 'memory.usage_in_bytes'))) ?? 0 };
    const max = await readOptionalNumber(join(dir, 'memory.max_usage_in_bytes'));
    if (max !== undefined) out.maxUsageBytes = max;
    if (limit !== undefined && limit < V1_UNLIMITED) out.limitBytes = limit;
    return out;
  }

  /** cpuacct.usage (ns) and cpuacct.usage_user / usage_sys (ns, kernel 4.7+). */
  async cpu(cgroupsPath: string): Promise<CpuStats> {
    const dir = this.#dir('cpuacct', cgroupsPath);
    const out: CpuStats = { usageNanos: (await readNumber(join(dir, 'cpuacct.usage'))) ?? 0 };
    const user = await readOptionalNumber(join(dir, 'cpuacct.usage_user'));
    const sys = await readOptionalNumber(join(dir, 'cpuacct.usage_sys'));
    if (user !== undefined) out.userNanos = user;
    if (sys !== undefined) out.systemNanos = sys;
    return out;
  }

  async pids(cgroupsPath: string): Promise<PidsStats> {
    const dir = this.#dir('pids', cgroupsPath);
    const out: PidsStats = { current: (await readNumber(join(dir, 'pids.current'))) ?? 0 };
    const limit = await readNumber(join(dir, 'pids.max'));
    if (limit !== undefined) out.limit = limit;
    return out;
  }

  remove(cgroupsPath: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    return removeDirs(this.dirs(cgroupsPath), opts.signal);
  }
}
