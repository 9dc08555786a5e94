// Debian's crun 1.8.1 on a hybrid cgroup host, and berth's way around it.
//
// The quirk: these machines mount cgroup v1 controllers under /sys/fs/cgroup/<ctrl> plus a cgroup2
// hierarchy at /sys/fs/cgroup/unified whose cgroup.controllers lists `hugetlb`. crun classifies the
// host in libcrun/cgroup-utils.c detect_cgroup_mode(): statfs("/sys/fs/cgroup") is tmpfs and
// statfs("/sys/fs/cgroup/unified") is cgroup2 → CGROUP_MODE_HYBRID; then libcrun_cgroup_enter()
// reads /sys/fs/cgroup/unified/cgroup.controllers and, being non-empty, fails every create with
// "cgroups in hybrid mode not supported, drop all controllers from cgroupv2". runc handles the same
// layout (it joins the unified hierarchy as well), so only crun needs the fix.
//
// The fix: run crun in a mount namespace of its own where /sys/fs/cgroup/unified is unmounted, so
// the statfs falls through to CGROUP_MODE_LEGACY and crun uses the v1 controllers alone, at the same
// cgroupfs paths runc uses (/sys/fs/cgroup/<ctrl>/<cgroupsPath>): berth's cgroup code reads one place
// for both runtimes. Each call is wrapped as
//   unshare --mount --propagation unchanged -- /bin/sh -c
//     'mount --make-rslave /sys/fs/cgroup && umount /sys/fs/cgroup/unified && exec "$0" "$@"' crun …
// - Propagation is left as the host has it, so a container's rshared volume still reaches the host
//   (critest's "rshared … vice versa"; with the whole namespace a slave it stopped here). Only the
//   cgroup tree is made a slave first: the umount then cannot propagate back out
//   (mount_namespaces(7) "MS_SLAVE"), so the host keeps its mount even where /sys/fs/cgroup is shared.
// - The container's own mount namespace is created by crun as a copy of this one, so the container
//   is unaffected: it mounts its own /sys/fs/cgroup from the spec. The namespace dies with crun.
// - Nothing is written to disk. Cost, measured here over 50 calls of `crun list`: 2.7 ms plain,
//   5.4 ms wrapped (unshare + sh + umount), so about 2.7 ms a call.
// - It works under conmon too: conmon gets `-r /usr/bin/unshare` and the rest as --runtime-arg
//   (conmon runtime_args.c puts runtime args before the sub-command).
// Lost with it: the container's processes are not placed in a cgroup2 (hugetlb) group.

import { readFileSync } from 'node:fs';
import { isErrno } from '../errdefs/index.ts';
import type { MountInfo } from '../mount/index.ts';
import { readMountInfo } from '../mount/index.ts';

export const UNIFIED_MOUNT = '/sys/fs/cgroup/unified';

/** The shell step run inside the new namespace; `$0` is the runtime binary, `$@` its arguments. */
export const HIDE_UNIFIED_SCRIPT = `mount --make-rslave /sys/fs/cgroup && umount ${UNIFIED_MOUNT} && exec "$0" "$@"`;

/** The argv prefix that runs the next word (the runtime) with the cgroup2 mount hidden. */
export function hideUnifiedWrapper(unshare = '/usr/bin/unshare', sh = '/bin/sh'): string[] {
  return [unshare, '--mount', '--propagation', 'unchanged', '--', sh, '-c', HIDE_UNIFIED_SCRIPT];
}

/**
 * True when crun would call this host hybrid and refuse it: /sys/fs/cgroup is a tmpfs, a cgroup2 is
 * mounted at /sys/fs/cgroup/unified, and that hierarchy has controllers (crun's exact test).
 */
export function crunRefusesHybrid(mounts: readonly MountInfo[], unifiedControllers: string): boolean {
  const last = (point: string) => mounts.findLast((m) => m.mountPoint === point);
  return (
    last('/sys/fs/cgroup')?.fsType === 'tmpfs' &&
    last(UNIFIED_MOUNT)?.fsType === 'cgroup2' &&
    unifiedControllers.trim() !== ''
  );
}

/** Reads this host's mounts and unified controllers and applies `crunRefusesHybrid`. */
export function hostNeedsUnifiedHidden(): boolean {
  let controllers: string;
  try {
    controllers = readFileSync(`${UNIFIED_MOUNT}/cgroup.controllers`, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false; // no cgroup2 at unified: v1-only or pure v2 host
    throw err;
  }
  return crunRefusesHybrid(readMountInfo(), controllers);
}
