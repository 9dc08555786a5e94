// Volumes: `-v HOST:CTR[:ro|:rw]` binds, `-v CTR` and the image's `Volumes` as anonymous volumes
// (a fresh directory under `<root>/volumes/<random>`, removed with the container). Destinations are
// checked by spec/mounts.ts's checkContainerPath (no empty, relative or `..` paths: CVE-2022-23648
// came from an image volume path joined to a host directory unchecked). Anonymous volumes start
// empty: docker copies the image's files at that path into a new volume, berth does not (yet).

import { randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, isErrno, NotFoundError } from '../errdefs/index.ts';
import type { Mount } from '../oci/runtime/index.ts';
import { checkContainerPath, checkHostPath } from '../spec/index.ts';
import type { VolumeSpec } from './types.ts';

/** Parses one `-v` value. */
export function parseVolume(text: string): VolumeSpec {
  const parts = text.split(':');
  const what = `volume ${JSON.stringify(text)}`;
  if (parts.length > 3) throw new InvalidArgumentError(`${what}: expected [HOST:]CONTAINER[:ro|rw]`);
  let mode = 'rw';
  if (parts.length >= 2 && (parts.at(-1) === 'ro' || parts.at(-1) === 'rw')) mode = parts.pop()!;
  else if (parts.length === 3) {
    throw new InvalidArgumentError(`${what}: unknown mode ${JSON.stringify(parts[2])}`, {
      hint: 'use ro or rw',
    });
  }
  if (parts.length === 1) {
    return { destination: checkContainerPath(parts[0]!, `${what}: destination`), readonly: mode === 'ro' };
  }
  if (!parts[0]!.startsWith('/')) {
    throw new InvalidArgumentError(`${what}: named volumes are not supported; give an absolute host path`, {
      hint: 'e.g. -v "$PWD/data:/data"',
    });
  }
  return {
    source: checkHostPath(parts[0]!, `${what}: source`),
    destination: checkContainerPath(parts[1]!, `${what}: destination`),
    readonly: mode === 'ro',
  };
}

/** The request's volumes plus the image's `Volumes` not already covered by one of them. */
export function volumesFor(requested: readonly VolumeSpec[], imageVolumes: readonly string[]): VolumeSpec[] {
  const out = [...requested];
  const taken = new Set(requested.map((v) => v.destination));
  for (const path of imageVolumes) {
    const destination = checkContainerPath(path, 'image volume');
    if (!taken.has(destination)) {
      out.push({ destination, readonly: false });
      taken.add(destination);
    }
  }
  return out;
}

/** A volume with its source as the bind mount that puts it in place. */
export function bindMountOf(v: VolumeSpec): Mount {
  if (v.source === undefined) {
    throw new InvalidArgumentError(`volume at ${v.destination}: has no source directory yet`);
  }
  return {
    destination: v.destination,
    type: 'bind',
    source: v.source,
    options: ['rbind', 'rprivate', v.readonly ? 'ro' : 'rw'],
  };
}

/**
 * Creates the anonymous volumes' directories and checks the binds' sources exist; returns every
 * volume with its source filled in, and the directories created (removed with the container).
 */
export async function materializeVolumes(
  volumes: readonly VolumeSpec[],
  volumesDir: string,
): Promise<{ volumes: VolumeSpec[]; created: string[] }> {
  const out: VolumeSpec[] = [];
  const created: string[] = [];
  for (const v of volumes) {
    let source = v.source;
    if (source === undefined) {
      const dir = join(volumesDir, randomBytes(16).toString('hex'));
      source = join(dir, '_data');
      await mkdir(source, { recursive: true, mode: 0o755 });
      created.push(dir);
    } else {
      await stat(source).catch((err: unknown) => {
        if (isErrno(err, 'ENOENT')) {
          throw new NotFoundError(`volume source ${source}: no such file or directory`, {
            hint: 'create it first; berth does not create host directories for -v',
          });
        }
        throw err;
      });
    }
    out.push({ ...v, source });
  }
  return { volumes: out, created };
}
