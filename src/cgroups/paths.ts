// Where a container's cgroup lives. berth uses the cgroupfs form of runtime-spec config-linux.md
// "cgroupsPath": an absolute path under the hierarchy roots, `/berth/<id>`, so every berth container
// sits under one parent per hierarchy (as containerd uses /default/<id> in its namespace). The
// systemd form `berth-<id>.scope` waits for a systemd cgroup driver.

import { isAbsolute, join, normalize } from 'node:path';
import { InvalidArgumentError } from '../errdefs/index.ts';

export const CGROUP_PARENT = '/berth';

const idPattern = /^[\w+.-]+$/;

/** `linux.cgroupsPath` for container `id`. */
export function containerCgroupsPath(id: string, parent = CGROUP_PARENT): string {
  if (!idPattern.test(id) || id === '.' || id === '..') {
    throw new InvalidArgumentError(`cgroup for container ${JSON.stringify(id)}: bad id`);
  }
  return join(checkCgroupsPath(parent), id);
}

/** An absolute, normalised path with no `..`: one that cannot leave the hierarchy it is joined to. */
export function checkCgroupsPath(path: string): string {
  if (!isAbsolute(path) || normalize(path) !== path || path.split('/').includes('..') || path === '/') {
    throw new InvalidArgumentError(
      `cgroups path ${JSON.stringify(path)}: must be absolute, normalised, not /`,
    );
  }
  return path;
}
