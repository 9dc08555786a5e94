// Starting a container (design.md "Run"): mount the prepared snapshot at <bundle>/rootfs, generate
// the spec against it, write the bundle (config.json, hostname, hosts, resolv.conf), have conmon run
// the runtime's create (conmon becomes the container's parent and outlives berth), then the
// runtime's start. On any failure everything is taken down again (teardown.ts) before the error is
// thrown: a failed start leaves no mount, cgroup, bundle or process behind.

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { NotFoundError } from '../errdefs/index.ts';
import { mountAll } from '../mount/index.ts';
import type { Spec } from '../oci/runtime/index.ts';
import { launchConmon } from '../shim/launcher.ts';
import type { ShimProcess } from '../shim/types.ts';
import { mark } from '../util/trace.ts';
import { containerSpec, hostnameOf } from './container-spec.ts';
import type { ContainerServiceDeps } from './deps.ts';
import { commandError } from './errors.ts';
import { writeEtcFiles } from './etc-files.ts';
import { containerPaths } from './layout.ts';
import { shortId } from './names.ts';
import { teardown } from './teardown.ts';
import type { ContainerRecord } from './types.ts';
import { bindMountOf } from './volumes.ts';

export interface Started {
  spec: Spec;
  shim: ShimProcess;
}

export interface StartOptions {
  /** Have conmon run the cleanup command when the container exits (nobody waits for it). */
  detached: boolean;
  signal?: AbortSignal;
}

export async function startContainer(
  deps: ContainerServiceDeps,
  record: ContainerRecord,
  opts: StartOptions,
): Promise<Started> {
  const paths = containerPaths(deps.dirs, record.id);
  const runtime = deps.runtime(record.runtime);
  try {
    // A bundle left by a crashed start would hold stale pid files and maybe a mount.
    if (existsSync(paths.bundle)) await teardown(deps, record);
    await mkdir(paths.rootfs, { recursive: true, mode: 0o700 });
    await mkdir(paths.dataDir, { recursive: true, mode: 0o700 });
    // conmon opens the log but makes no directory; a CRI log path may name a new one (<pod dir>/<ctr>/).
    await mkdir(dirname(record.logPath), { recursive: true, mode: 0o755 });
    mark('bundle dirs');
    await mountAll(await deps.snapshotter.mounts(record.snapshotKey), paths.rootfs, opts.signal);
    mark('rootfs mounted');
    const network = record.request.network ?? 'none';
    const etc = await writeEtcFiles(paths.bundle, hostnameOf(record), network, record.request.pod?.etcFiles);
    const spec = await containerSpec(record, paths.rootfs, [
      ...etc,
      ...(record.request.volumes ?? []).map(bindMountOf),
    ]);
    await writeFile(paths.config, JSON.stringify(spec), { mode: 0o600 });
    mark('spec and bundle written');
    const cleanup = opts.detached ? deps.cleanupCommand : undefined;
    const shim = await launchConmon(
      {
        id: record.id,
        // The attach socket's link is `<socket dir>/<uuid>`: the short id keeps that path well under
        // sun_path's 108 bytes even in a long state dir.
        uuid: shortId(record.id),
        name: record.name,
        runtime: runtime.invocation(),
        bundle: paths.bundle,
        containerPidFile: paths.containerPidFile,
        conmonPidFile: paths.conmonPidFile,
        logPath: record.logPath,
        exitDir: paths.exitDir,
        socketDir: paths.socketDir,
        persistDir: paths.persistDir,
        terminal: record.request.tty === true,
        stdin: record.request.stdin === true,
        ...(cleanup === undefined
          ? {}
          : { exitCommand: { path: cleanup.path, args: [...cleanup.args, record.id] } }),
      },
      {
        conmonPath: deps.conmonPath,
        forceDelete: async (id) => {
          await runtime.delete(id, { force: true }).catch((err: unknown) => {
            if (!(err instanceof NotFoundError)) throw err;
          });
        },
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      },
    );
    mark('conmon: runtime create done');
    await runtime.start(record.id, opts.signal === undefined ? {} : { signal: opts.signal });
    mark('runtime start done');
    return { spec, shim };
  } catch (err) {
    await teardown(deps, record);
    throw commandError(err, record.name, record.request.args ?? record.image.config.config?.Cmd ?? undefined);
  }
}
