// The cgroupfs driver for cgroup v2 (the kernel's Documentation/admin-guide/cgroup-v2.rst): one
// directory per cgroup; memory.events `oom_kill`, memory.current/peak/max, cpu.stat, pids.*.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readKeyed, readNumber, readOptionalNumber, removeDirs } from './files.ts';
import { checkCgroupsPath } from './paths.ts';
import type { CgroupDriver, CgroupHost, CpuStats, MemoryStats, OomStatus, PidsStats } from './types.ts';

export class CgroupV2Driver implements CgroupDriver {
  readonly host: CgroupHost;
  readonly #root: string;

  constructor(host: CgroupHost) {
    this.host = host;
    this.#root = host.unified ?? '/sys/fs/cgroup';
  }

  dirs(cgroupsPath: string): string[] {
    return [join(this.#root, checkCgroupsPath(cgroupsPath))];
  }

  existing(cgroupsPath: string): string[] {
    return this.dirs(cgroupsPath).filter((d) => existsSync(d));
  }

  #dir(cgroupsPath: string): string {
    return join(this.#root, checkCgroupsPath(cgroupsPath));
  }

  async oom(cgroupsPath: string): Promise<OomStatus> {
    const events = await readKeyed(join(this.#dir(cgroupsPath), 'memory.events'));
    return { oomKills: events.oom_kill ?? 0, limitHits: events.max ?? 0 };
  }

  async memory(cgroupsPath: string): Promise<MemoryStats> {
    const dir = this.#dir(cgroupsPath);
    const out: MemoryStats = { usageBytes: (await readNumber(join(dir, 'memory.current'))) ?? 0 };
    const peak = await readOptionalNumber(join(dir, 'memory.peak'));
    const limit = await readNumber(join(dir, 'memory.max'));
    if (peak !== undefined) out.maxUsageBytes = peak;
    if (limit !== undefined) out.limitBytes = limit;
    return out;
  }

  /** cpu.stat's usage_usec, user_usec, system_usec (µs), as ns like v1's cpuacct. */
  async cpu(cgroupsPath: string): Promise<CpuStats> {
    const stat = await readKeyed(join(this.#dir(cgroupsPath), 'cpu.stat'));
    const out: CpuStats = { usageNanos: (stat.usage_usec ?? 0) * 1000 };
    if (stat.user_usec !== undefined) out.userNanos = stat.user_usec * 1000;
    if (stat.system_usec !== undefined) out.systemNanos = stat.system_usec * 1000;
    return out;
  }

  async pids(cgroupsPath: string): Promise<PidsStats> {
    const dir = this.#dir(cgroupsPath);
    const out: PidsStats = { current: (await readNumber(join(dir, 'pids.current'))) ?? 0 };
    const limit = await readNumber(join(dir, 'pids.max'));
    if (limit !== undefined) out.limit = limit;
    return out;
  }

  remove(cgroupsPath: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    return removeDirs(this.dirs(cgroupsPath), opts.signal);
  }
}
