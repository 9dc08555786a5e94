// Creating a container: the row first (it reserves the name across berth processes, as status
// `creating`), then the rootfs snapshot prepared on the image's top layer, the anonymous volumes and
// the log directory; then status `created`. Nothing runs yet: `start` mounts and launches. A failure
// removes what was made, the row last, so a failed create leaves nothing behind.

import { mkdir } from 'node:fs/promises';
import { InvalidArgumentError, NotFoundError } from '../errdefs/index.ts';
import { isRuntimeName } from '../runtime/index.ts';
import { mark } from '../util/trace.ts';
import type { ContainerServiceDeps } from './deps.ts';
import { containerPaths } from './layout.ts';
import { checkContainerName, newContainerId, randomName } from './names.ts';
import type { ContainerRecords } from './records.ts';
import {
  CONTAINER_RECORD_VERSION,
  type Container,
  type ContainerRecord,
  type CreateRequest,
} from './types.ts';
import { materializeVolumes, volumesFor } from './volumes.ts';
import { removeContainerFiles } from './volumes-cleanup.ts';

/** The snapshot key of a container's rootfs (containerd's CRI uses the container id alone). */
export function snapshotKeyOf(id: string): string {
  return `container-${id}`;
}

export async function createContainer(
  deps: ContainerServiceDeps,
  records: ContainerRecords,
  req: CreateRequest,
  opts: { signal?: AbortSignal },
): Promise<Container> {
  const runtime = req.runtime ?? deps.defaultRuntime;
  if (!isRuntimeName(runtime)) throw new InvalidArgumentError(`runtime ${JSON.stringify(runtime)}: unknown`);
  mark('create: begin');
  const image = await deps.images.resolve(req.image);
  mark('image resolved');
  const id = newContainerId();
  const name = req.name === undefined ? randomName() : checkContainerName(req.name);
  const paths = containerPaths(deps.dirs, id);
  const record: ContainerRecord = {
    recordVersion: CONTAINER_RECORD_VERSION,
    id,
    name,
    image,
    request: { ...req, runtime },
    runtime,
    snapshotter: deps.snapshotter.name,
    snapshotKey: snapshotKeyOf(id),
    anonymousVolumes: [],
    createdAt: new Date().toISOString(),
    startCount: 0,
    logPath: req.pod?.logPath ?? paths.log,
  };
  let c = records.insert('creating', { ...record, starter: process.pid });
  try {
    await deps.snapshotter.prepare(record.snapshotKey, image.chainID || undefined, {
      labels: { 'berth.container': id },
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    const imageVolumes = Object.keys(image.config.config?.Volumes ?? {});
    const volumes = await materializeVolumes(volumesFor(req.volumes ?? [], imageVolumes), paths.volumesDir);
    await mkdir(paths.dataDir, { recursive: true, mode: 0o700 });
    c = records.save(c, 'created', {
      starter: undefined,
      anonymousVolumes: volumes.created,
      request: { ...c.request, volumes: volumes.volumes },
    });
    mark('created (snapshot prepared)');
    return c;
  } catch (err) {
    await deps.snapshotter.remove(record.snapshotKey).catch((e: unknown) => {
      if (!(e instanceof NotFoundError)) throw e;
    });
    await removeContainerFiles(deps.dirs, records.get(id));
    records.delete(id);
    throw err;
  }
}
