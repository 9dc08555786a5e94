// Mounts added to the defaults: binds (`-v HOST:CTR[:ro]`) and any other mount. Destinations are
// checked before they reach a runtime. CVE-2022-23648 (containerd CRI) came from an image volume
// path with `..` components that was joined to a host directory unchecked; here a destination
// must be non-empty and absolute, may not contain `..` at all (nothing legitimate needs it), may
// not be `/` itself, and is stored cleaned. A later mount at the same destination replaces an
// earlier one, as Docker lets a volume replace a default mount (moby daemon/oci_linux.go WithMounts).

import { posix } from 'node:path';
import { InvalidArgumentError } from '../errdefs/index.ts';
import type { Mount } from '../oci/runtime/index.ts';
import type { SpecOpt } from './types.ts';

/** The cleaned form of a container path, or InvalidArgumentError saying what is wrong with it. */
export function checkContainerPath(path: string, what = 'mount destination'): string {
  const where = `${what} ${JSON.stringify(path)}`;
  if (path === '') throw new InvalidArgumentError(`${what}: must not be empty`);
  if (path.includes('\0')) throw new InvalidArgumentError(`${where}: contains a NUL byte`);
  if (!path.startsWith('/')) throw new InvalidArgumentError(`${where}: must be an absolute path`);
  if (path.split('/').includes('..'))
    throw new InvalidArgumentError(`${where}: must not contain ".." components`);
  const clean = posix.normalize(path).replace(/(.)\/+$/, '$1');
  if (clean === '/') throw new InvalidArgumentError(`${where}: cannot mount over the container's root`);
  return clean;
}

/** A host path for a bind: absolute, no NUL; cleaned (symlinks are the runtime's to resolve). */
export function checkHostPath(path: string, what = 'bind source'): string {
  const where = `${what} ${JSON.stringify(path)}`;
  if (path === '') throw new InvalidArgumentError(`${what}: must not be empty`);
  if (path.includes('\0')) throw new InvalidArgumentError(`${where}: contains a NUL byte`);
  if (!path.startsWith('/')) {
    throw new InvalidArgumentError(`${where}: must be an absolute path`, {
      hint: 'give host directories as absolute paths, e.g. "$PWD/data:/data"',
    });
  }
  return posix.normalize(path);
}

/** Adds mounts, each destination checked and cleaned, replacing mounts at the same destination. */
export function withMounts(mounts: readonly Mount[]): SpecOpt {
  const checked = mounts.map((m) => ({ ...m, destination: checkContainerPath(m.destination) }));
  return (spec) => {
    const added = new Set(checked.map((m) => m.destination));
    const kept = (spec.mounts ?? []).filter((m) => !added.has(posix.normalize(m.destination)));
    spec.mounts = [...kept, ...checked];
  };
}

/**
 * A bind mount of `hostPath` at `containerPath`: recursive, private propagation, read-only when
 * asked (the options containerd's CRI and Docker give a volume bind).
 */
export function withBindMount(hostPath: string, containerPath: string, readonly = false): SpecOpt {
  const source = checkHostPath(hostPath);
  return withMounts([
    {
      destination: containerPath,
      type: 'bind',
      source,
      options: ['rbind', 'rprivate', readonly ? 'ro' : 'rw'],
    },
  ]);
}
