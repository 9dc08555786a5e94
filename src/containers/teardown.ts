// Taking down what a start set up, in the reverse order: the runtime's container (and with it every
// process in it), the rootfs and bundle mounts, the cgroup, the bundle directory. Every step is
// idempotent, because several berth processes may tear one container down at once (the foreground
// `run` that saw it exit, conmon's cleanup command, a `ps`) and a crash may stop one half way: a
// second teardown finishes the first's work. The bundle directory is removed only once nothing is
// mounted below it: a recursive delete through a still-mounted rootfs would destroy the container's
// files (its snapshot's upper directory).

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { containerCgroupsPath } from '../cgroups/index.ts';
import { InternalError, NotFoundError } from '../errdefs/index.ts';
import { mountsUnder, unmount } from '../mount/index.ts';
import { mark } from '../util/trace.ts';
import { CGROUP_NAMESPACE } from './container-spec.ts';
import type { ContainerServiceDeps } from './deps.ts';
import { containerPaths } from './layout.ts';
import { podCgroupsPath } from './pod-opts.ts';
import type { ContainerRecord } from './types.ts';

export function cgroupsPathOf(record: Pick<ContainerRecord, 'id' | 'request'>): string {
  const parent = record.request.pod?.cgroupParent;
  return parent === undefined
    ? containerCgroupsPath(record.id, `/${CGROUP_NAMESPACE}`)
    : podCgroupsPath(parent, record.id);
}

export async function teardown(deps: ContainerServiceDeps, record: ContainerRecord): Promise<void> {
  const paths = containerPaths(deps.dirs, record.id);
  // The runtime's delete and the unmounts are independent (neither runtime reads the rootfs to
  // delete, and a lazy unmount is safe under a process still dying): run them at once.
  await Promise.all([
    deps
      .runtime(record.runtime)
      .delete(record.id, { force: true })
      .catch((err: unknown) => {
        if (!(err instanceof NotFoundError)) throw err;
      }),
    ...mountsUnder(paths.bundle).map((point) =>
      // Another process tearing the same container down may unmount it between our read of the
      // mount table and our umount: "not mounted" then is success, which the check below confirms.
      unmount(point, { lazy: true }).catch((err: unknown) => {
        if (mountsUnder(paths.bundle).includes(point)) throw err;
      }),
    ),
  ]);
  mark('td: runtime delete + unmount');
  const left = mountsUnder(paths.bundle);
  if (left.length > 0) {
    throw new InternalError(`container ${record.name}: still mounted after unmount: ${left.join(', ')}`);
  }
  await deps.cgroups.remove(cgroupsPathOf(record));
  mark('td: cgroups');
  await rm(paths.bundle, { recursive: true, force: true });
  await rm(join(paths.exitDir, record.id), { force: true });
}
