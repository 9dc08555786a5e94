// Where a container's files live. Runtime state (the bundle, pid files, conmon's exit files and
// attach sockets) goes under the state dir, which a reboot empties; what must survive a reboot (the
// log, anonymous volumes) goes under the root. The exit and socket dirs are shared by all containers:
// conmon names its files by container id, and the attach socket path must stay short (sun_path is
// 108 bytes).

import { join } from 'node:path';

export interface ContainerDirs {
  /** berth's root (`/var/lib/berth`). */
  root: string;
  /** berth's state dir (`/run/berth`). */
  state: string;
}

export interface ContainerPaths {
  /** The runtime-spec bundle: config.json, rootfs/, hosts, hostname, resolv.conf, pid files. */
  bundle: string;
  rootfs: string;
  config: string;
  containerPidFile: string;
  conmonPidFile: string;
  /** conmon writes `<exitDir>/<id>`. */
  exitDir: string;
  socketDir: string;
  /** conmon's `--persist-dir`: its own copy of `exit` and `oom`. */
  persistDir: string;
  /** The container's persistent directory: the CRI log lives here. */
  dataDir: string;
  log: string;
  volumesDir: string;
}

export function containerPaths(dirs: ContainerDirs, id: string): ContainerPaths {
  const bundle = join(dirs.state, 'containers', id);
  const dataDir = join(dirs.root, 'containers', id);
  return {
    bundle,
    rootfs: join(bundle, 'rootfs'),
    config: join(bundle, 'config.json'),
    containerPidFile: join(bundle, 'pidfile'),
    conmonPidFile: join(bundle, 'conmon.pid'),
    exitDir: join(dirs.state, 'exits'),
    socketDir: join(dirs.state, 'socket'),
    persistDir: join(bundle, 'persist'),
    dataDir,
    log: join(dataDir, 'ctr.log'),
    volumesDir: join(dirs.root, 'volumes'),
  };
}
