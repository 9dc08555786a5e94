// Where a pod's files live: everything under `<state>/pods/<id>`, in the state dir because none of it
// outlives a reboot (namespaces and tmpfs mounts die with the kernel). The namespace files are the
// bind mounts CRI-O's pinns makes under /var/run/{netns,ipcns,utsns}; here they sit with the pod so
// one directory holds all a pod owns, and removing the pod can check nothing is mounted below it.

import { join } from 'node:path';

export interface PodDirs {
  /** berth's state dir (`/run/berth`). */
  state: string;
}

export interface PodPaths {
  dir: string;
  nsDir: string;
  netns: string;
  ipcns: string;
  utsns: string;
  /** The infra process's PID namespace, for pods sharing one (infra.ts). */
  pidns: string;
  /** The pod's /dev/shm: a tmpfs mounted here, bind-mounted into each container. */
  shm: string;
  hostname: string;
  hosts: string;
  resolvConf: string;
}

export function podPaths(dirs: PodDirs, id: string): PodPaths {
  const dir = join(dirs.state, 'pods', id);
  const nsDir = join(dir, 'ns');
  return {
    dir,
    nsDir,
    netns: join(nsDir, 'net'),
    ipcns: join(nsDir, 'ipc'),
    utsns: join(nsDir, 'uts'),
    pidns: join(nsDir, 'pid'),
    shm: join(dir, 'shm'),
    hostname: join(dir, 'hostname'),
    hosts: join(dir, 'hosts'),
    resolvConf: join(dir, 'resolv.conf'),
  };
}
