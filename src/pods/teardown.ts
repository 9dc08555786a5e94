// Taking a pod's resources down, in the reverse order of creation: CNI DEL (retried: a DEL given up on
// leaks an IP reservation, CNI spec section 3 "a delete must still be executed even if the add
// fails"), then the infra process (SIGKILL, waited for), then the pinned namespaces, then the /dev/shm
// tmpfs. DEL runs while the network namespace
// is still pinned, so the plugins can remove the pod's interface inside it; when DEL keeps failing
// the error is thrown with the namespaces left pinned, so the next stop (the kubelet retries) can try
// the DEL again properly. Every step is idempotent: two berth processes may tear one pod down at once,
// and a crash may stop one half way. Paths come from the pod id, not the record, so a crash between
// mounting something and recording it leaves nothing unfound (the infra process is found by its
// record only: a crash between starting it and recording it leaks it).

import { rm } from 'node:fs/promises';
import { type CniClient, type DelRetryOptions, delWithRetry } from '../cni/index.ts';
import { InternalError } from '../errdefs/index.ts';
import { mountsUnder } from '../mount/index.ts';
import { stopInfra } from './infra.ts';
import { type PodDirs, podPaths } from './layout.ts';
import { unpinNamespaces } from './namespaces.ts';
import { unmountShm } from './shm.ts';
import type { PodRecord } from './types.ts';

export interface TeardownDeps {
  cni: Pick<CniClient, 'del'>;
  dirs: PodDirs;
  delRetry?: Pick<DelRetryOptions, 'attempts' | 'backoffMs' | 'onRetry'>;
}

/** CNI DEL (when an attachment is recorded), kill the infra process, unpin the namespaces, unmount shm. */
export async function teardownPod(
  deps: TeardownDeps,
  record: Pick<PodRecord, 'id' | 'network' | 'infra'>,
  opts: { signal?: AbortSignal } = {},
): Promise<void> {
  const paths = podPaths(deps.dirs, record.id);
  if (record.network !== undefined) {
    await delWithRetry(deps.cni, record.network, {
      ...deps.delRetry,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  }
  if (record.infra !== undefined) await stopInfra(record.infra);
  await unpinNamespaces(paths);
  await unmountShm(paths.shm);
}

/** Removes the pod dir once nothing is mounted below it (a recursive delete must not cross a mount). */
export async function removePodDir(dirs: PodDirs, id: string): Promise<void> {
  const paths = podPaths(dirs, id);
  const left = mountsUnder(paths.dir);
  if (left.length > 0) {
    throw new InternalError(`pod ${id}: still mounted under its dir: ${left.join(', ')}`);
  }
  await rm(paths.dir, { recursive: true, force: true });
}
