import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { InternalError, InvalidArgumentError } from '../errdefs/index.ts';
import { mountsUnder } from './mountinfo.ts';
import type { Mount } from './types.ts';

const run = promisify(execFile);

// Node has no mount(2): util-linux's mount and umount do it, which also gives their well-known
// error texts. About 2 ms a call; the overlay options string is bounded by the page size (4096), which
// overlayfs checks, so very deep images need shorter lowerdir paths (see the overlay snapshotter).

/** Mounts `mounts` in order onto `target` (an existing directory). */
export async function mountAll(mounts: Mount[], target: string, signal?: AbortSignal): Promise<void> {
  for (const m of mounts) {
    if (m.options.some((o) => o.includes(','))) {
      throw new InvalidArgumentError(`mount ${m.type} ${m.source}: an option contains a comma`);
    }
    const args = ['-t', m.type];
    if (m.options.length > 0) args.push('-o', m.options.join(','));
    args.push(m.source, target);
    try {
      await run('mount', args, { signal });
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr?.trim() ?? '';
      throw new InternalError(
        `mount ${m.type} ${m.source} on ${target}: ${stderr || (err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
}

/** Unmounts `target`; `lazy` detaches a busy mount (MNT_DETACH) instead of failing. */
export async function unmount(target: string, options: { lazy?: boolean } = {}): Promise<void> {
  const args = options.lazy ? ['-l', target] : [target];
  try {
    await run('umount', args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim() ?? '';
    throw new InternalError(`unmount ${target}: ${stderr || (err as Error).message}`, { cause: err });
  }
}

/** Unmounts everything at or below `dir`, deepest first: the cleanup after a failed create. */
export async function unmountAll(dir: string): Promise<void> {
  for (const point of mountsUnder(dir)) await unmount(point, { lazy: true });
}
