// Pod sandboxes on real namespaces and Debian's real CNI plugins (bridge + host-local), on a test
// bridge and subnet the harness makes and deletes (test/harness/pods.ts). Traffic goes only between
// the pod namespaces a test made. Each test asserts what it leaves: no mount, no netns file, no veth
// on the bridge, no host-local reservation, no row.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CniClient } from '../../src/cni/index.ts';
import { CanceledError, NotFoundError } from '../../src/errdefs/index.ts';
import { mountsUnder } from '../../src/mount/index.ts';
import { PodService } from '../../src/pods/index.ts';
import { bridgePorts, inNs, linkExists, podRequest, podTestEnv, reservedIps } from '../harness/pods.ts';
import { needs } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const skip =
  needs('unshare', 'nsenter', 'ip', 'busybox') ||
  (existsSync('/usr/lib/cni/bridge') ? false : 'needs containernetworking-plugins');

test('two pods get IPs on the bridge, reach each other, and stop and remove leave nothing', {
  skip,
}, async (t) => {
  const env = podTestEnv(t);
  const a = await env.service.run(
    podRequest({
      hostname: 'pod-a',
      dnsConfig: { servers: ['10.0.0.10'], searches: ['svc.local'], options: ['ndots:5'] },
    }),
  );
  const b = await env.service.run(podRequest({ sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' } }));
  assert.equal(a.status, 'ready');
  assert.equal(a.ips.length, 1);
  assert.ok(a.ips[0]!.startsWith(env.prefix), `${a.ips[0]} in ${env.subnet}`);
  assert.ok(b.ips[0]!.startsWith(env.prefix));
  assert.notEqual(a.ips[0], b.ips[0]);
  const pathsA = env.service.paths(a.id);
  assert.deepEqual(a.namespaces, { net: pathsA.netns, uts: pathsA.utsns, ipc: pathsA.ipcns });
  assert.deepEqual(
    mountsUnder(pathsA.dir).sort(),
    [pathsA.ipcns, pathsA.netns, pathsA.shm, pathsA.utsns].sort(),
  );

  // host-local's reservations, and the two veths on the bridge.
  const ipam = join(env.dataDir, env.networkName);
  assert.deepEqual(reservedIps(ipam).sort(), [a.ips[0], b.ips[0]].sort());
  assert.match(readFileSync(join(ipam, a.ips[0]!), 'utf8'), new RegExp(a.id));
  assert.equal(bridgePorts(env.bridge).length, 2);

  // Inside the namespaces: loopback up, eth0 with the IP, host name set, and the pods reach each other.
  assert.match(inNs({ net: a.namespaces.net! }, 'ip', '-o', 'addr', 'show', 'dev', 'lo').out, /127\.0\.0\.1/);
  assert.match(
    inNs({ net: a.namespaces.net! }, 'ip', '-o', 'addr', 'show', 'dev', 'eth0').out,
    new RegExp(a.ips[0]!.replaceAll('.', '\\.')),
  );
  assert.equal(inNs({ uts: a.namespaces.uts! }, 'hostname').out.trim(), 'pod-a');
  assert.equal(
    inNs({ uts: b.namespaces.uts! }, 'hostname').out.trim(),
    hostname(),
    "no hostname asked: the node's",
  );
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    const ping = inNs({ net: from.namespaces.net! }, 'busybox', 'ping', '-c1', '-W3', to.ips[0]!);
    assert.equal(ping.status, 0, `ping ${to.ips[0]} from ${from.ips[0]}: ${ping.out}`);
  }

  // CNI CHECK of both attachments passes (bridge and host-local verify the interface and address),
  // and the network reports ready.
  await env.service.checkNetwork(a.id);
  await env.service.checkNetwork(b.id);
  assert.deepEqual(await env.service.networkStatus(), { ready: true });

  // The pod's files and shm.
  assert.equal(
    readFileSync(pathsA.resolvConf, 'utf8'),
    'search svc.local\nnameserver 10.0.0.10\noptions ndots:5\n',
  );
  assert.match(readFileSync(pathsA.hosts, 'utf8'), new RegExp(`${a.ips[0]!.replaceAll('.', '\\.')}\\tpod-a`));
  assert.equal(readFileSync(pathsA.hostname, 'utf8'), 'pod-a\n');
  const shm = statfsSync(pathsA.shm);
  assert.equal(shm.blocks * shm.bsize, 64 * 1024 * 1024);

  // Stop A: DEL ran (veth gone, IP released), namespaces and shm unmounted; B untouched.
  const hostVethA = (a.network!.result!.interfaces as { name: string; sandbox?: string }[]).find(
    (i) => i.sandbox === undefined && i.name !== env.bridge,
  )!.name;
  assert.ok(linkExists(hostVethA));
  const stopped = await env.service.stop(a.id);
  assert.equal(stopped.status, 'notready');
  assert.equal(stopped.network, undefined);
  assert.deepEqual(stopped.ips, a.ips, 'the last IPs are kept for status');
  assert.ok(!linkExists(hostVethA), 'the veth is gone');
  assert.deepEqual(reservedIps(ipam), [b.ips[0]]);
  assert.deepEqual(mountsUnder(pathsA.dir), []);
  assert.ok(!existsSync(pathsA.nsDir), 'no namespace files');
  assert.equal(bridgePorts(env.bridge).length, 1);
  assert.equal((await env.service.stop(a.id)).status, 'notready', 'stop is idempotent');
  assert.throws(() => env.service.specOpts(stopped), { code: 'FailedPrecondition' });

  await env.service.remove(a.id);
  await env.service.remove(b.id);
  await assert.rejects(env.service.get(a.id), NotFoundError);
  assert.deepEqual(await env.service.list(), []);
  assert.deepEqual(mountsUnder(env.state), []);
  assert.deepEqual(readdirSync(join(env.state, 'pods')), []);
  assert.deepEqual(reservedIps(ipam), []);
  assert.deepEqual(bridgePorts(env.bridge), [], 'only the bridge the test made is left, empty');
});

test('a conflist naming a missing plugin fails the run and leaves nothing behind', { skip }, async (t) => {
  const env = podTestEnv(t);
  env.writeConflist([{ type: 'berth-test-no-such-plugin' }]);
  await assert.rejects(env.service.run(podRequest()), (err: unknown) => {
    assert.ok(err instanceof NotFoundError);
    assert.match(err.message, /cni plugin "berth-test-no-such-plugin": not found/);
    return true;
  });
  assert.deepEqual(
    bridgePorts(env.bridge),
    [],
    'the veth the bridge plugin added first was removed by the DEL',
  );
  assert.deepEqual(reservedIps(join(env.dataDir, env.networkName)), [], 'its IP was released');
  assert.deepEqual(env.service.records.list(), []);
  assert.deepEqual(mountsUnder(env.state), []);
  assert.deepEqual(readdirSync(join(env.state, 'pods')), []);
});

test('an aborted run (during CNI ADD) undoes everything', { skip }, async (t) => {
  const bin = join(tempDir(t, 'cni-bin'), 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'berth-test-slow'),
    '#!/bin/sh\n[ "$CNI_COMMAND" = ADD ] && exec sleep 30\ncat >/dev/null\n',
  );
  chmodSync(join(bin, 'berth-test-slow'), 0o755);
  const env = podTestEnv(t, { binDirs: [bin, '/usr/lib/cni'] });
  env.writeConflist([{ type: 'berth-test-slow' }]);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 500);
  await assert.rejects(env.service.run(podRequest(), { signal: ac.signal }), CanceledError);
  assert.deepEqual(bridgePorts(env.bridge), []);
  assert.deepEqual(reservedIps(join(env.dataDir, env.networkName)), []);
  assert.deepEqual(env.service.records.list(), []);
  assert.deepEqual(mountsUnder(env.state), []);
});

test('host network and IPC: nothing pinned, no CNI, the host name; containers get the host namespaces', {
  skip,
}, async (t) => {
  const env = podTestEnv(t);
  const p = await env.service.run(
    podRequest({ namespaces: { network: 'node', ipc: 'node' }, hostname: 'ignored' }),
  );
  assert.deepEqual(p.namespaces, {});
  assert.equal(p.network, undefined);
  assert.equal(p.shm, undefined);
  assert.deepEqual(p.ips, []);
  assert.equal(p.hostname, spawnSync('hostname', { encoding: 'utf8' }).stdout.trim());
  assert.deepEqual(mountsUnder(env.service.paths(p.id).dir), []);
  assert.deepEqual(bridgePorts(env.bridge), []);
  await env.service.remove(p.id);
  assert.deepEqual(env.service.records.list(), []);
});

test('recovery: a creation whose creator died is undone; a pod whose namespaces vanished becomes notready', {
  skip,
}, async (t) => {
  const env = podTestEnv(t);
  const ipam = join(env.dataDir, env.networkName);
  const dead = spawnSync('true').pid!; // exited and reaped: a pid with no process
  const a = await env.service.run(podRequest());
  env.service.records.save(a, 'creating', { creator: dead });
  assert.deepEqual(await env.service.list(), [], 'the half-made pod was rolled back');
  assert.deepEqual(reservedIps(ipam), []);
  assert.deepEqual(mountsUnder(env.state), []);
  assert.deepEqual(env.service.records.list(), []);

  // A "reboot": the pinned namespaces and shm vanish under a ready pod.
  const b = await env.service.run(podRequest());
  for (const point of mountsUnder(env.service.paths(b.id).dir)) spawnSync('umount', ['-l', point]);
  const found = await env.service.get(b.id);
  assert.equal(found.status, 'notready');
  assert.deepEqual(reservedIps(ipam), [], 'the DEL the reboot skipped released the IP');
  await env.service.remove(b.id);
});

test('pods run, stop and remove concurrently: distinct IPs, nothing left', { skip }, async (t) => {
  const env = podTestEnv(t);
  const pods = await Promise.all(Array.from({ length: 8 }, () => env.service.run(podRequest())));
  const ips = pods.map((p) => p.ips[0]!);
  assert.equal(new Set(ips).size, 8, ips.join(' '));
  assert.equal(bridgePorts(env.bridge).length, 8);
  // Three stops of one pod at once all succeed, and only one runs the CNI DEL: the CNI spec forbids
  // parallel operations for one container (claim.ts serialises the teardowns).
  let inflight = 0;
  let maxInflight = 0;
  let dels = 0;
  const counting = {
    add: env.cni.add.bind(env.cni),
    check: env.cni.check.bind(env.cni),
    status: env.cni.status.bind(env.cni),
    del: async (...args: Parameters<CniClient['del']>) => {
      dels++;
      maxInflight = Math.max(maxInflight, ++inflight);
      try {
        await sleep(100);
        return await env.cni.del(...args);
      } finally {
        inflight--;
      }
    },
  };
  const other = new PodService({ ...env.service.deps, cni: counting });
  const stops = await Promise.all([1, 2, 3].map(() => other.stop(pods[0]!.id)));
  assert.deepEqual(
    stops.map((s) => s.status),
    ['notready', 'notready', 'notready'],
  );
  assert.equal(dels, 1);
  assert.equal(maxInflight, 1);
  await Promise.all(pods.map((p) => env.service.remove(p.id)));
  assert.deepEqual(env.service.records.list(), []);
  assert.deepEqual(bridgePorts(env.bridge), []);
  assert.deepEqual(reservedIps(join(env.dataDir, env.networkName)), []);
  assert.deepEqual(mountsUnder(env.state), []);
});
