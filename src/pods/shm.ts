// The pod's shared /dev/shm. Containers of a pod share an IPC namespace, and POSIX shared memory
// (shm_open) lives on /dev/shm, so they must share that filesystem too: one tmpfs per pod, mounted
// under the pod dir and bind-mounted at /dev/shm into each container (containerd's CRI does the same
// with its sandbox's `shm` dir; Docker's `--ipc shareable`). 64 MiB is Docker's and containerd's size.

import { mkdir, rm } from 'node:fs/promises';
import { InternalError, InvalidArgumentError } from '../errdefs/index.ts';
import { mountAll, mountsUnder, unmount } from '../mount/index.ts';

export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

export function checkShmSize(bytes: number): number {
  // A page is the smallest tmpfs; 2^40 keeps the option string and the arithmetic sane.
  if (!Number.isSafeInteger(bytes) || bytes < 4096 || bytes > 2 ** 40) {
    throw new InvalidArgumentError(`shm size ${bytes}: must be an integer from 4096 bytes to 1 TiB`);
  }
  return bytes;
}

/** Mounts a fresh tmpfs of `bytes` at `dir` (created): nosuid, nodev, noexec, mode 1777 like /dev/shm. */
export async function mountShm(dir: string, bytes: number, signal?: AbortSignal): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await mountAll(
    [
      {
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'nodev', 'noexec', 'mode=1777', `size=${checkShmSize(bytes)}`],
      },
    ],
    dir,
    signal,
  );
}

/** Unmounts the pod's shm (every layer, should one be stacked) and removes the dir; idempotent. */
export async function unmountShm(dir: string): Promise<void> {
  for (const point of mountsUnder(dir)) {
    // Lazy: a container that has not quite exited may still hold a file open on it.
    await unmount(point, { lazy: true }).catch((err: unknown) => {
      if (mountsUnder(dir).includes(point)) throw err;
    });
  }
  const left = mountsUnder(dir);
  if (left.length > 0) throw new InternalError(`pod shm ${dir}: still mounted after unmount`);
  await rm(dir, { recursive: true, force: true });
}
