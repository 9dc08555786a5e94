// The cgroups module's public types: the host's layout and a driver that finds, reads and removes a
// container's cgroup through cgroupfs. The runtime (runc/crun) creates the cgroup and applies the
// limits from config.json; berth reads usage and OOM events back and cleans up what is left.

/** v1 (legacy), v2 (unified), or hybrid: v1 controllers plus a cgroup2 mount (these machines). */
export type CgroupLayout = 'v1' | 'v2' | 'hybrid';

export interface CgroupHost {
  layout: CgroupLayout;
  /** v1 controller name → its hierarchy's mount point (`memory` → /sys/fs/cgroup/memory). */
  v1: Record<string, string>;
  /** The cgroup2 mount point, if any (/sys/fs/cgroup on v2, /sys/fs/cgroup/unified on hybrid). */
  unified?: string;
}

export interface OomStatus {
  /** Processes the kernel's OOM killer killed in this cgroup (v1 oom_control, v2 memory.events). */
  oomKills: number;
  /** Times the memory limit was hit (v1 memory.failcnt, v2 memory.events `max`). */
  limitHits: number;
}

export interface MemoryStats {
  usageBytes: number;
  /** Peak usage (v1 max_usage_in_bytes, v2 memory.peak when the kernel has it). */
  maxUsageBytes?: number;
  /** undefined: no limit. */
  limitBytes?: number;
}

export interface CpuStats {
  usageNanos: number;
  userNanos?: number;
  systemNanos?: number;
}

export interface PidsStats {
  current: number;
  /** undefined: no limit (`max`). */
  limit?: number;
}

/** One container's cgroup, addressed by its runtime-spec `linux.cgroupsPath` (`/berth/<id>`). */
export interface CgroupDriver {
  readonly host: CgroupHost;
  /** Every directory this cgroup has: one per v1 hierarchy (plus unified on hybrid), or one on v2. */
  dirs(cgroupsPath: string): string[];
  /** The directories that exist now. */
  existing(cgroupsPath: string): string[];
  oom(cgroupsPath: string): Promise<OomStatus>;
  memory(cgroupsPath: string): Promise<MemoryStats>;
  cpu(cgroupsPath: string): Promise<CpuStats>;
  pids(cgroupsPath: string): Promise<PidsStats>;
  /** Removes the cgroup's directories, deepest first; fine when they are already gone. */
  remove(cgroupsPath: string, opts?: { signal?: AbortSignal }): Promise<void>;
}
