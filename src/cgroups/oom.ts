// Telling an OOM kill apart from any other SIGKILL (CRI ContainerStatus reason "OOMKilled", as
// containerd's CRI and CRI-O report it): the process died of SIGKILL (conmon's exit status 137) and
// the kernel's OOM killer acted in the container's cgroup while it ran.

import type { CgroupDriver, OomStatus } from './types.ts';

/** 128 + SIGKILL: how conmon (and shells) report a process killed by signal 9. */
export const SIGKILL_EXIT_STATUS = 137;

/** Pure: was this exit an OOM kill, given the cgroup's counters at exit (and optionally before)? */
export function isOomKill(exitCode: number, atExit: OomStatus, before?: OomStatus): boolean {
  return exitCode === SIGKILL_EXIT_STATUS && atExit.oomKills > (before?.oomKills ?? 0);
}

/** Reads the counters and decides; call after the exit and before the runtime deletes the cgroup. */
export async function exitReason(
  driver: CgroupDriver,
  cgroupsPath: string,
  exitCode: number,
): Promise<'OOMKilled' | 'Error' | 'Completed'> {
  if (exitCode === 0) return 'Completed';
  return isOomKill(exitCode, await driver.oom(cgroupsPath)) ? 'OOMKilled' : 'Error';
}
