// berth's container service on a temp root and state dir, wired as the CLI wires it (real runc or
// crun, real conmon, overlay snapshots, cgroupfs), with a test image imported from an OCI layout the
// harness builds. After the test every container is removed (killed first), and the harness then
// asserts nothing is left: no process it saw, no cgroup, no mount under the temp dirs, no bundle.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { cgroupDriver } from '../../src/cgroups/index.ts';
import { imageLookup, runtimeDrivers } from '../../src/cli/services.ts';
import { ContainerService, cgroupsPathOf } from '../../src/containers/index.ts';
import { OciLayout } from '../../src/content/index.ts';
import { NotFoundError } from '../../src/errdefs/index.ts';
import { writeImage, writeLayer } from '../../src/imagebuild/index.ts';
import { mountsUnder } from '../../src/mount/index.ts';
import { findExecutable, type RuntimeName } from '../../src/runtime/index.ts';
import { waitGone } from '../../src/shim/index.ts';
import { type TestImageServices, testImageServices } from './berth-images.ts';
import { baseLayerEntries, hostPlatform } from './fixtures.ts';
import { tempDir } from './tmp.ts';

/** The user the test image adds (uid 1000, primary group 1000, also in `staff` 50). */
export const appUser = { name: 'app', uid: 1000, gid: 1000, groups: [50, 1000] };

/**
 * The `run` test image: busybox, users root/app/nobody, Env, a WorkingDir that does not exist in the
 * image (berth must create it), a declared volume, Cmd `sh`.
 */
export async function buildRunImage(dir: string): Promise<string> {
  const layout = await OciLayout.create(dir);
  const base = baseLayerEntries().filter((e) => e.path !== '/etc/passwd' && e.path !== '/etc/group');
  const layer = await writeLayer(layout, [
    ...base,
    {
      type: 'file',
      path: '/etc/passwd',
      content:
        'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    },
    {
      type: 'file',
      path: '/etc/group',
      content: 'root:x:0:\nstaff:x:50:app\napp:x:1000:\nnobody:x:65534:\n',
    },
    { type: 'dir', path: '/home/app', uid: 1000, gid: 1000 },
  ]);
  const image = await writeImage(layout, {
    platform: hostPlatform(),
    layers: [layer],
    config: {
      Env: [
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'FOO=from-image',
        'KEEP=image',
      ],
      Cmd: ['sh'],
      WorkingDir: '/work/dir',
      Volumes: { '/data': {} },
    },
  });
  await layout.addManifest(image.manifest, 'latest');
  return dir;
}

export interface TestContainers extends TestImageServices {
  containers: ContainerService;
  /** The imported test image's name. */
  image: string;
  state: string;
  /** The berth CLI, with this root and state: `berth(['run', …])`. */
  cli(
    args: string[],
    opts?: { input?: string; timeoutMs?: number },
  ): { status: number | null; stdout: string; stderr: string };
}

const berthBin = new URL('../../bin/berth', import.meta.url).pathname;

export async function testContainers(
  t: Pick<TestContext, 'after'>,
  opts: { runtime?: RuntimeName } = {},
): Promise<TestContainers> {
  const runtimeName = opts.runtime ?? 'runc';
  const seenPids = new Set<number>();
  const cgroups = cgroupDriver();
  let service: ContainerService | undefined;
  let dirs: { root: string; state: string } | undefined;
  // Registered before the temp dirs: node:test runs after-hooks in registration order, and the
  // containers must be removed (processes killed, rootfs unmounted) before their dirs are deleted.
  t.after(async () => {
    if (service === undefined || dirs === undefined) return;
    const left = service.records.list();
    for (const c of left) {
      if (c.pid !== undefined) seenPids.add(c.pid);
      if (c.conmonPid !== undefined) seenPids.add(c.conmonPid);
      await service.remove(c.id, { force: true }).catch((err: unknown) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
    }
    for (const pid of seenPids) assert.ok(await waitGone(pid, 5000), `process ${pid} is still alive`);
    for (const c of left)
      assert.deepEqual(cgroups.existing(cgroupsPathOf(c)), [], `cgroup of ${c.name} left`);
    assert.deepEqual(mountsUnder(dirs.root), [], 'mounts left under the root');
    assert.deepEqual(mountsUnder(dirs.state), [], 'mounts left under the state dir');
    const bundles = join(dirs.state, 'containers');
    assert.deepEqual(existsSync(bundles) ? readdirSync(bundles) : [], [], 'bundles left behind');
  });
  const state = tempDir(t, 'state');
  const root = tempDir(t, 'root');
  dirs = { root, state };
  const base = await testImageServices(t, { root });
  const [imported] = await base.images.import(await buildRunImage(join(tempDir(t, 'image'), 'layout')));
  const image = imported!.name;
  const containers = new ContainerService({
    metadata: base.metadata,
    snapshotter: base.snapshotter,
    images: imageLookup(base.images),
    runtime: runtimeDrivers(state),
    defaultRuntime: runtimeName,
    conmonPath: findExecutable('conmon'),
    cgroups,
    dirs: { root, state },
    cleanupCommand: { path: berthBin, args: ['--root', root, '--state', state, 'container', 'cleanup'] },
  });
  service = containers;
  return {
    ...base,
    containers,
    image,
    state,
    cli(args, o = {}) {
      const r = spawnSync(berthBin, ['--root', root, '--state', state, ...args], {
        input: o.input ?? '',
        encoding: 'utf8',
        timeout: o.timeoutMs ?? 60_000,
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
  };
}
