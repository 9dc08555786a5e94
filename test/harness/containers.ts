// Test helpers for real containers: a busybox bundle written by hand (a rootfs with /bin/busybox and
// its applet links, and a minimal runtime-spec config.json, independent of src/spec), and a tracker
// that removes every container, process and cgroup a test made, even when the test failed, then
// asserts that nothing is left (no pid in /proc, no cgroup directory, no mount under the temp dir).

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { cgroupDriver, containerCgroupsPath } from '../../src/cgroups/index.ts';
import { isErrno, NotFoundError } from '../../src/errdefs/index.ts';
import { mountsUnder } from '../../src/mount/index.ts';
import { OciRuntimeDriver, resolveRuntime } from '../../src/runtime/index.ts';
import { isAlive, signalPid, waitGone } from '../../src/shim/index.ts';
import { which } from './requirements.ts';

const applets = [
  'sh',
  'sleep',
  'echo',
  'cat',
  'true',
  'false',
  'head',
  'tr',
  'seq',
  'dd',
  'ls',
  'kill',
  'wc',
];

export interface BundleOptions {
  args: string[];
  cgroupsPath: string;
  memoryBytes?: number;
  pidsLimit?: number;
}

/** Writes `<dir>/rootfs` (busybox) and `<dir>/config.json`; returns `dir`. */
export function busyboxBundle(dir: string, o: BundleOptions): string {
  const bin = join(dir, 'rootfs', 'bin');
  mkdirSync(bin, { recursive: true });
  for (const d of ['proc', 'dev', 'sys', 'tmp', 'etc'])
    mkdirSync(join(dir, 'rootfs', d), { recursive: true });
  copyFileSync(which('busybox') ?? '/bin/busybox', join(bin, 'busybox'));
  for (const a of applets) symlinkSync('busybox', join(bin, a));
  const resources: Record<string, unknown> = {};
  // v1 needs swap set with the limit, or the process swaps instead of being OOM-killed.
  if (o.memoryBytes !== undefined) resources.memory = { limit: o.memoryBytes, swap: o.memoryBytes };
  if (o.pidsLimit !== undefined) resources.pids = { limit: o.pidsLimit };
  const caps = ['CAP_KILL', 'CAP_AUDIT_WRITE', 'CAP_NET_BIND_SERVICE'];
  const config = {
    ociVersion: '1.0.2', // crun 1.8.1 refuses 1.2.x version strings (docs/architecture.md)
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: o.args,
      env: ['PATH=/bin'],
      cwd: '/',
      noNewPrivileges: true,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'berth-test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      namespaces: ['pid', 'ipc', 'uts', 'mount', 'network'].map((type) => ({ type })),
      cgroupsPath: o.cgroupsPath,
      resources,
      maskedPaths: ['/proc/kcore', '/proc/keys'],
      readonlyPaths: ['/proc/sys'],
    },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

/** Remembers what a test started and takes it all down after the test, then checks it is gone. */
export class ContainerTracker {
  readonly #items: { driver: OciRuntimeDriver; id: string }[] = [];
  readonly #pids = new Set<number>();
  readonly #cgroups = cgroupDriver();

  /** The test's temp dir, checked for mounts left behind. */
  root: string | undefined;

  /** Make the tracker before the test's tempDir: after-hooks run in the order they were registered. */
  constructor(t: Pick<TestContext, 'after'>) {
    t.after(async () => {
      for (const pid of this.#pids) signalPid(pid, 'SIGKILL');
      for (const { driver, id } of this.#items) {
        await driver.delete(id, { force: true }).catch((err: unknown) => {
          if (!(err instanceof NotFoundError)) throw err;
        });
        await this.#cgroups.remove(containerCgroupsPath(id));
      }
      for (const pid of this.#pids) assert.ok(await waitGone(pid, 5000), `process ${pid} is still alive`);
      for (const { id } of this.#items) {
        assert.deepEqual(this.#cgroups.existing(containerCgroupsPath(id)), [], `cgroup of ${id} left behind`);
      }
      if (this.root !== undefined)
        assert.deepEqual(mountsUnder(this.root), [], 'mounts left under the test dir');
    });
  }

  runtime(name: string, stateDir: string): OciRuntimeDriver {
    return new OciRuntimeDriver(resolveRuntime(name, { stateDir }));
  }

  container(driver: OciRuntimeDriver, id: string): string {
    this.#items.push({ driver, id });
    return containerCgroupsPath(id);
  }

  pid(pid: number | undefined): void {
    if (pid !== undefined && pid > 0) this.#pids.add(pid);
  }

  /** Asserts now that `pid` is gone and the container's cgroup directories are removed. */
  async assertGone(id: string, pids: readonly number[]): Promise<void> {
    for (const pid of pids) assert.ok(await waitGone(pid, 5000), `process ${pid} is still alive`);
    assert.deepEqual(this.#cgroups.existing(containerCgroupsPath(id)), [], `cgroup of ${id} left behind`);
  }
}

export function uniqueId(what: string): string {
  return `berth-test-${what}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** True while `pid` is alive; false, without throwing, when there is no such process. */
export function alive(pid: number): boolean {
  try {
    return isAlive(pid);
  } catch (err) {
    if (isErrno(err, 'EACCES')) return true;
    throw err;
  }
}
