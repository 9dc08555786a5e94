// A real container (runc, busybox) made from containerd's default spec plus podSpecOpts joins a pod:
// it is in the pod's pinned network, IPC and UTS namespaces (same inodes), sees the pod's host name
// and /etc files, writes into the pod's shared /dev/shm, has the pod's sysctl applied in the pod's
// network namespace, and reaches the other pod the test made.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultOpts, generateSpec, withArgs, withEnv } from '../../src/spec/index.ts';
import { busyboxBundle, ContainerTracker, uniqueId } from '../harness/containers.ts';
import { inNs, podRequest, podTestEnv } from '../harness/pods.ts';
import { needs } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const skip =
  needs('runc', 'unshare', 'nsenter', 'ip', 'busybox') ||
  (existsSync('/usr/lib/cni/bridge') ? false : 'needs containernetworking-plugins');

test('a container joins the pod: namespaces, host name, /etc files, shared shm, sysctls, network', {
  skip,
}, async (t) => {
  const track = new ContainerTracker(t); // first: its cleanup runs before the pods' and the dirs'
  const env = podTestEnv(t);
  const dir = tempDir(t, 'pod-ctr');
  track.root = dir;
  const a = await env.service.run(
    podRequest({
      hostname: 'pod-a',
      dnsConfig: { servers: ['10.0.0.10'] },
      sysctls: { 'net.ipv4.ip_unprivileged_port_start': '80' },
    }),
  );
  const b = await env.service.run(podRequest());
  const rt = track.runtime('runc', join(dir, 'state'));
  const id = uniqueId('podctr');
  track.container(rt, id);
  const bundle = busyboxBundle(join(dir, 'bundle'), { args: ['true'], cgroupsPath: '/unused' });
  for (const applet of ['hostname', 'ping', 'grep', 'readlink', 'touch'])
    symlinkSync('busybox', join(bundle, 'rootfs', 'bin', applet));
  const script = [
    'echo host=$(hostname)',
    'echo etc=$(cat /etc/hostname)',
    'echo resolv=$(cat /etc/resolv.conf)',
    'echo port=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)',
    'for n in net ipc uts; do echo ns=$(readlink /proc/self/ns/$n); done',
    'touch /dev/shm/berth-test-marker',
    `ping -c1 -W3 ${b.ips[0]} >/dev/null && echo ping=ok`,
  ].join('; ');
  const spec = await generateSpec(
    [...defaultOpts(), withArgs(['sh', '-c', script]), withEnv(['PATH=/bin']), ...env.service.specOpts(a)],
    {
      id,
      rootfs: join(bundle, 'rootfs'),
    },
  );
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  const r = spawnSync('runc', ['--root', rt.config.root, 'run', '--bundle', bundle, id], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 0, `runc run: ${r.stderr}`);
  const out = r.stdout;
  assert.match(out, /^host=pod-a$/m);
  assert.match(out, /^etc=pod-a$/m);
  assert.match(out, /^resolv=nameserver 10\.0\.0\.10$/m);
  assert.match(out, /^port=80$/m);
  for (const [kind, file] of Object.entries(a.namespaces)) {
    assert.match(
      out,
      new RegExp(`^ns=${kind}:\\[${statSync(file).ino}\\]$`, 'm'),
      `${kind} namespace is the pod's`,
    );
  }
  assert.match(out, /^ping=ok$/m, out);
  assert.ok(
    existsSync(join(env.service.paths(a.id).shm, 'berth-test-marker')),
    'the container wrote into the pod shm',
  );
  assert.equal(
    inNs({ net: a.namespaces.net! }, 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start').out.trim(),
    '80',
  );
  assert.equal(
    inNs({ net: b.namespaces.net! }, 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start').out.trim(),
    '1024',
    'not in the other pod',
  );
  await env.service.remove(a.id);
  await env.service.remove(b.id);
});
