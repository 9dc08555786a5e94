// A pod with a pod-wide PID namespace (namespaces.pid 'pod'): berth starts an infra process as the
// namespace's PID 1 in its own session and pins its namespace; two real containers (runc, busybox)
// made with podSpecOpts join it and see each other and the infra process as PID 1, which reaps the
// orphans reparented to it; stop kills the infra process (and so the containers' processes) and
// unpins; an infra process that dies makes the pod notready.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { mountsUnder } from '../../src/mount/index.ts';
import { isAlive, waitGone } from '../../src/shim/index.ts';
import { defaultOpts, generateSpec, withArgs, withEnv } from '../../src/spec/index.ts';
import { busyboxBundle, ContainerTracker, uniqueId } from '../harness/containers.ts';
import { podRequest, podTestEnv } from '../harness/pods.ts';
import { needs } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const skip =
  needs('runc', 'unshare', 'nsenter', 'ip', 'busybox', 'perl') ||
  (existsSync('/usr/lib/cni/bridge') ? false : 'needs containernetworking-plugins');

/** Field `n` (1-based, proc(5)) of /proc/<pid>/stat. */
function statField(pid: number, n: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[n - 3]!;
}

test('containers of a pod-wide PID namespace see each other and the infra process as PID 1', {
  skip,
}, async (t) => {
  const track = new ContainerTracker(t); // first: its cleanup runs before the pods' and the dirs'
  const env = podTestEnv(t);
  const dir = tempDir(t, 'pod-pid');
  track.root = dir;
  const pod = await env.service.run(podRequest({ namespaces: { pid: 'pod' } }));
  const paths = env.service.paths(pod.id);
  assert.equal(pod.status, 'ready');
  const infra = pod.infra!;
  assert.ok(infra !== undefined && isAlive(infra.pid), 'the infra process runs');
  assert.equal(pod.namespaces.pid, paths.pidns);
  assert.ok(mountsUnder(paths.nsDir).includes(paths.pidns), 'its PID namespace is pinned');
  assert.notEqual(statField(infra.pid, 6), statField(process.pid, 6), 'in a session of its own');
  assert.match(readFileSync(`/proc/${infra.pid}/cmdline`, 'utf8'), new RegExp(`berth-pod-infra\0${pod.id}`));

  const rt = track.runtime('runc', join(dir, 'state'));
  const bundleFor = async (id: string, name: string, script: string) => {
    track.container(rt, id);
    const bundle = busyboxBundle(join(dir, name), { args: ['true'], cgroupsPath: '/unused' });
    for (const applet of ['ps', 'readlink']) symlinkSync('busybox', join(bundle, 'rootfs', 'bin', applet));
    const spec = await generateSpec(
      [
        ...defaultOpts(),
        withArgs(['sh', '-c', script]),
        withEnv(['PATH=/bin']),
        ...env.service.specOpts(pod),
      ],
      { id, rootfs: join(bundle, 'rootfs') },
    );
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    return bundle;
  };
  const runc = (...args: string[]) =>
    spawnSync('runc', ['--root', rt.config.root, ...args], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  // The first container sleeps, detached.
  const first = uniqueId('podpid1');
  const b1 = await bundleFor(first, 'one', 'exec sleep 300');
  // No pipes: the detached container would hold them open, and spawnSync wait for their end.
  let r = spawnSync('runc', ['--root', rt.config.root, 'run', '--detach', '--bundle', b1, first], {
    encoding: 'utf8',
    timeout: 30_000,
    stdio: 'ignore',
  });
  assert.equal(r.status, 0, 'runc run --detach');
  const sleeper = (JSON.parse(runc('state', first).stdout) as { pid: number }).pid;
  track.pid(sleeper);

  // The second lists the namespace's processes, and leaves an orphan for PID 1 to reap.
  const second = uniqueId('podpid2');
  const script = [
    'echo ns=$(readlink /proc/self/ns/pid)',
    '(sleep 1 &)',
    'sleep 2',
    'ps -o pid,args',
    'cat /proc/[0-9]*/stat',
  ].join('; ');
  const b2 = await bundleFor(second, 'two', script);
  r = runc('run', '--bundle', b2, second);
  assert.equal(r.status, 0, `runc run: ${r.stderr}`);
  const out = r.stdout;
  assert.match(out, new RegExp(`^ns=pid:\\[${statSync(paths.pidns).ino}\\]$`, 'm'), out);
  assert.match(out, /^\s*1\s+\S*perl .*berth-pod-infra/m, `PID 1 is the infra process:\n${out}`);
  assert.match(out, /^\s*\d+\s+sleep 300$/m, `the other container's process is seen:\n${out}`);
  const zombies = out.split('\n').filter((l) => /^\d+ \(.*\) Z /.test(l));
  assert.deepEqual(zombies, [], 'the orphan was reaped');

  // Stop: the infra process is killed and waited for, and with it every process in the namespace.
  const stopped = await env.service.stop(pod.id);
  assert.equal(stopped.status, 'notready');
  assert.equal(stopped.infra, undefined);
  assert.equal(isAlive(infra.pid), false, 'no infra process');
  assert.ok(await waitGone(sleeper, 5000), 'the first container was killed with the namespace');
  assert.deepEqual(mountsUnder(paths.dir), []);
  await env.service.remove(pod.id);
});

test('a pod whose infra process died is notready, its namespaces unpinned', { skip }, async (t) => {
  const env = podTestEnv(t);
  const pod = await env.service.run(podRequest({ namespaces: { pid: 'pod' } }));
  process.kill(pod.infra!.pid, 'SIGKILL');
  assert.ok(await waitGone(pod.infra!.pid, 5000));
  const now = await env.service.get(pod.id);
  assert.equal(now.status, 'notready');
  assert.equal(now.infra, undefined);
  assert.deepEqual(mountsUnder(env.service.paths(pod.id).dir), []);
  assert.deepEqual(env.service.records.list().length, 1);
  await env.service.remove(pod.id);
  assert.deepEqual(env.service.records.list(), []);
});
