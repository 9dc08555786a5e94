// What a container of the pod needs in its runtime-spec, as SpecOpts to append after the container's
// own (containerd internal/cri/server/container_create_linux.go does the same for its sandboxes):
// - the pod's network, IPC and UTS namespaces joined by path (config-linux.md "Namespaces": a `path`
//   means join, not create), or the host's when the pod uses them (the entry removed);
// - PID per container unless the pod uses the host's, or joins the infra process's (a pod-wide one);
// - /etc/hostname, /etc/hosts, /etc/resolv.conf bound from the pod dir, and /dev/shm from the pod's
//   tmpfs (or the host's /dev/shm with the host's IPC namespace, as Docker's `--ipc host` does);
// - the host name (runc sets it inside the joined UTS namespace; the same name, so a no-op), none
//   with the host's UTS namespace, where a runtime refuses to set one;
// - the pod's sysctls, and the cgroup path `<parent>/<container id>`.

import { CGROUP_PARENT, containerCgroupsPath } from '../cgroups/index.ts';
import type { Mount, NamespaceType } from '../oci/runtime/index.ts';
import {
  linuxOf,
  type SpecOpt,
  withHostNamespace,
  withHostname,
  withMounts,
  withNamespacePath,
} from '../spec/index.ts';
import { type PodDirs, podPaths } from './layout.ts';
import { mustBeReady } from './status.ts';
import { withSysctls } from './sysctls.ts';
import type { Pod } from './types.ts';

/** The host's /dev/shm, bound into containers of pods with the host's IPC namespace. */
export const HOST_SHM = '/dev/shm';

function bind(source: string, destination: string): Mount {
  return { destination, type: 'bind', source, options: ['rbind', 'rprivate', 'rw'] };
}

/** The container's cgroup under the pod's parent: `<parent>/<container id>` (`/berth/<id>` by default). */
export function withPodCgroupParent(parent: string | undefined): SpecOpt {
  return (spec, ctx) => {
    linuxOf(spec).cgroupsPath = containerCgroupsPath(ctx.id, parent || CGROUP_PARENT);
  };
}

/** Removes `hostname`: with the host's UTS namespace runc and crun refuse any. */
function withoutHostname(): SpecOpt {
  return (spec) => {
    delete spec.hostname;
  };
}

/**
 * The same as plain data, in the shape of the container service's PodSettings (containers/types.ts),
 * which is kept in the container's record and so cannot hold functions: namespaces to join (no path:
 * the host's), the pod's /etc files, the /dev/shm bind, sysctls, cgroup parent, and the host name to
 * set (absent when the UTS namespace is the host's, where runc and crun refuse to set one).
 */
export interface PodContainerSettings {
  namespaces: { type: NamespaceType; path?: string }[];
  hostname?: string;
  cgroupParent?: string;
  sysctls?: Record<string, string>;
  mounts: Mount[];
  etcFiles: { hostname: string; hosts: string; resolvConf: string };
}

/** What a container joining `pod` needs; the pod must be ready (its namespaces pinned). */
export function podContainerSettings(pod: Pod, dirs: PodDirs): PodContainerSettings {
  mustBeReady(pod, 'add a container');
  const paths = podPaths(dirs, pod.id);
  const join = (type: NamespaceType, path: string | undefined) =>
    path === undefined ? { type } : { type, path };
  const namespaces = [
    join('network', pod.namespaces.net),
    join('ipc', pod.namespaces.ipc),
    join('uts', pod.namespaces.uts),
    ...(pod.namespaces.pid !== undefined
      ? [join('pid', pod.namespaces.pid)]
      : pod.request.namespaces?.pid === 'node'
        ? [{ type: 'pid' as const }]
        : []),
  ];
  const sysctls = pod.request.sysctls ?? {};
  return {
    namespaces,
    ...(pod.namespaces.uts === undefined ? {} : { hostname: pod.hostname }),
    ...(pod.request.cgroupParent ? { cgroupParent: pod.request.cgroupParent } : {}),
    ...(Object.keys(sysctls).length === 0 ? {} : { sysctls }),
    mounts: [bind(pod.shm ?? HOST_SHM, '/dev/shm')],
    etcFiles: { hostname: paths.hostname, hosts: paths.hosts, resolvConf: paths.resolvConf },
  };
}

/** The options for a container joining `pod`, from podContainerSettings. */
export function podSpecOpts(pod: Pod, dirs: PodDirs): SpecOpt[] {
  const s = podContainerSettings(pod, dirs);
  const opts: SpecOpt[] = s.namespaces.map((ns) =>
    ns.path === undefined ? withHostNamespace(ns.type) : withNamespacePath(ns.type, ns.path),
  );
  opts.push(
    withMounts([
      bind(s.etcFiles.hostname, '/etc/hostname'),
      bind(s.etcFiles.hosts, '/etc/hosts'),
      bind(s.etcFiles.resolvConf, '/etc/resolv.conf'),
      ...s.mounts,
    ]),
  );
  opts.push(s.hostname === undefined ? withoutHostname() : withHostname(s.hostname));
  if (s.sysctls !== undefined) opts.push(withSysctls(s.sysctls));
  opts.push(withPodCgroupParent(s.cgroupParent));
  return opts;
}
