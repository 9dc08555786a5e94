// What a pod sets on its containers (PodSettings), through the service on real runc: a pinned network
// namespace joined, the seccomp and masked-path overrides, a cgroup parent, annotations, a clamped
// oom_score_adj, the pod's /etc files and a CRI log path.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cgroupDriver } from '../../src/cgroups/index.ts';
import { testContainers } from '../harness/berth-containers.ts';
import { needs } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = process.getuid?.() !== 0 ? 'needs root' : needs('runc', 'conmon', 'busybox', 'unshare');

test('pod settings reach the container', { skip }, async (t) => {
  const pod = tempDir(t, 'pod');
  const netns = join(pod, 'net');
  writeFileSync(netns, '');
  execFileSync('unshare', [`--net=${netns}`, 'true']);
  // tempDir's own cleanup detaches the pinned namespace (mounted below it) before removing it.
  const h = await testContainers(t);
  const hosts = join(pod, 'hosts');
  writeFileSync(hosts, '127.0.0.1 localhost pod-host\n');
  const logPath = join(pod, 'logs', 'c.log');
  execFileSync('mkdir', ['-p', join(pod, 'logs')]);
  const c = await h.containers.create({
    image: h.image,
    name: 'in-pod',
    args: [
      'sh',
      '-c',
      'readlink /proc/self/ns/net; wc -c < /proc/timer_list; cat /proc/self/oom_score_adj; cat /etc/hosts; busybox unshare -U true && echo unconfined',
    ],
    pod: {
      namespaces: [{ type: 'network', path: netns }],
      seccomp: { kind: 'unconfined' },
      maskedPaths: [],
      cgroupParent: '/berth-test-pods/p1',
      annotations: { 'io.kubernetes.cri.container-type': 'container' },
      oomScoreAdj: -999,
      etcFiles: { hosts },
      logPath,
    },
  });
  await h.containers.start(c.id);
  const running = await h.containers.get(c.id);
  assert.equal(running.spec?.linux?.cgroupsPath, `/berth-test-pods/p1/${c.id}`);
  assert.equal(running.spec?.annotations?.['io.kubernetes.cri.container-type'], 'container');
  const stopped = await h.containers.wait(c.id);
  assert.equal(stopped.exitCode, 0);
  const out = readFileSync(logPath, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(' ').slice(3).join(' '));
  const inode = statSync(netns).ino;
  assert.equal(out[0], `net:[${inode}]`, 'the pinned network namespace was joined');
  assert.notEqual(out[1], '0', '/proc/timer_list is no longer masked');
  const hostAdj = Number(readFileSync('/proc/self/oom_score_adj', 'utf8'));
  assert.equal(Number(out[2]), Math.max(-999, hostAdj), 'oom_score_adj clamped to berth’s own');
  assert.equal(out[3], '127.0.0.1 localhost pod-host');
  assert.equal(out[4], 'unconfined');
  assert.deepEqual(cgroupDriver().existing(`/berth-test-pods/p1/${c.id}`), [], 'cgroup removed at exit');
  await cgroupDriver().remove('/berth-test-pods/p1');
  await cgroupDriver().remove('/berth-test-pods');
});
