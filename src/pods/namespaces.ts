// The pod's namespaces without a pause container (CRI-O's drop_infra_ctr design, its `pinns` helper):
// new network, IPC and UTS namespaces are created once and kept alive by bind-mounting their nsfs
// files onto plain files under the pod dir; each container of the pod then joins them through the
// runtime-spec's namespace `path` (config-linux.md "Namespaces"). util-linux's `unshare --net=FILE`
// does exactly pinns' job: a child unshares and the parent bind-mounts /proc/<child>/ns/<type> onto
// FILE, which must exist. The UTS namespace gets the pod's host name and the network namespace its
// loopback up before any plugin or container sees them (the CNI plugins configure eth0 only).
// A namespace lives as long as its file is mounted or a process is in it: unpinning unmounts the
// files, so the kernel frees each one once the pod's last container has exited.

import { mkdir, open, rm } from 'node:fs/promises';
import { InternalError } from '../errdefs/index.ts';
import { mountsUnder, unmount } from '../mount/index.ts';
import { hostTool, runTool, type ToolOptions } from './host-tools.ts';
import type { PodPaths } from './layout.ts';
import type { PinnedNamespaces } from './types.ts';

/** The kinds `unshare … true` pins; the PID namespace needs a live init instead (infra.ts). */
export type PinnableNamespace = Exclude<keyof PinnedNamespaces, 'pid'>;

/** util-linux's option for each namespace type. */
const unshareFlag: Record<PinnableNamespace, string> = { net: '--net', ipc: '--ipc', uts: '--uts' };

export function nsPath(paths: PodPaths, kind: PinnableNamespace): string {
  return kind === 'net' ? paths.netns : kind === 'ipc' ? paths.ipcns : paths.utsns;
}

/**
 * Creates and pins the namespaces `kinds` under `paths.nsDir`; sets the host name in a new UTS
 * namespace and brings loopback up in a new network namespace. On failure whatever was mounted stays
 * for `unpinNamespaces` (the caller's cleanup) to take down.
 */
export async function pinNamespaces(
  paths: PodPaths,
  kinds: readonly PinnableNamespace[],
  opts: ToolOptions & { hostname: string },
): Promise<PinnedNamespaces> {
  if (kinds.length === 0) return {};
  await mkdir(paths.nsDir, { recursive: true, mode: 0o755 });
  const pinned: PinnedNamespaces = {};
  for (const kind of kinds) {
    const file = nsPath(paths, kind);
    // 'wx': a fresh pod has no such file; finding one means another process is pinning this pod.
    await (await open(file, 'wx', 0o444)).close();
    pinned[kind] = file;
  }
  const args = kinds.map((k) => `${unshareFlag[k]}=${nsPath(paths, k)}`);
  // `true` is the child's whole life: the namespaces outlive it through the bind mounts.
  await runTool(hostTool('unshare'), [...args, 'true'], opts);
  if (pinned.uts !== undefined) {
    await runTool(hostTool('nsenter'), [`--uts=${pinned.uts}`, hostTool('hostname'), opts.hostname], opts);
  }
  if (pinned.net !== undefined) {
    await runTool(
      hostTool('nsenter'),
      [`--net=${pinned.net}`, hostTool('ip'), 'link', 'set', 'lo', 'up'],
      opts,
    );
  }
  return pinned;
}

/**
 * Unmounts every pinned namespace file and removes the namespace dir. Idempotent: several berth
 * processes may unpin one pod at once (a stop racing a crash recovery), and a file mounted twice
 * (a pin retried over a crashed one) is unmounted until nothing is left.
 */
export async function unpinNamespaces(paths: PodPaths): Promise<void> {
  for (let round = 0; round < 4; round++) {
    const points = mountsUnder(paths.nsDir);
    if (points.length === 0) break;
    for (const point of points) {
      // Lazy (MNT_DETACH): a plugin run by a concurrent DEL may hold the file open, and a plain
      // umount then fails with EBUSY; the namespace itself lives on until that descriptor closes.
      // Another process may unmount it between our read of the mount table and our umount: "not
      // mounted" then is success, which the next round's read confirms.
      await unmount(point, { lazy: true }).catch((err: unknown) => {
        if (mountsUnder(paths.nsDir).includes(point)) throw err;
      });
    }
  }
  const left = mountsUnder(paths.nsDir);
  if (left.length > 0)
    throw new InternalError(`pod namespaces still mounted after unmount: ${left.join(', ')}`);
  await rm(paths.nsDir, { recursive: true, force: true });
}

/** Whether the pinned file still holds its namespace (a reboot empties the state dir's tmpfs). */
export function isPinned(file: string): boolean {
  return mountsUnder(file).includes(file);
}
