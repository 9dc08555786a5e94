// The pure parts of pods: the SpecOpts a container of a pod gets, request validation, resolv.conf from
// a DNSConfig, /etc/hosts, port mappings and CNI_ARGS of the attachment; and the pod rows'
// compare-and-set in the metadata database.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PodSettings } from '../../src/containers/index.ts';
import { InvalidArgumentError } from '../../src/errdefs/index.ts';
import { openMetadata } from '../../src/metadata/index.ts';
import {
  checkDnsConfig,
  checkRunRequest,
  POD_RECORD_VERSION,
  type Pod,
  PodRecords,
  podAttachment,
  podContainerSettings,
  podName,
  podPaths,
  podSpecOpts,
  type RunPodRequest,
  renderResolvConf,
} from '../../src/pods/index.ts';
import { defaultOpts, generateSpec, hostsFile, resolvConfFromHost } from '../../src/spec/index.ts';
import { tempDir } from '../harness/tmp.ts';

const dirs = { state: '/run/berth' };
const meta = { name: 'web', namespace: 'default', uid: '6e0e-11', attempt: 2 };

function fakePod(req: Partial<RunPodRequest> = {}, status: Pod['status'] = 'ready'): Pod {
  const id = 'a'.repeat(64);
  const paths = podPaths(dirs, id);
  const hostNet = req.namespaces?.network === 'node';
  const hostIpc = req.namespaces?.ipc === 'node';
  return {
    recordVersion: POD_RECORD_VERSION,
    id,
    name: podName(meta),
    request: { metadata: meta, ...req },
    hostname: hostNet ? 'node1' : 'web',
    createdAt: '2024-01-01T00:00:00.000Z',
    namespaces: {
      ...(hostNet ? {} : { net: paths.netns, uts: paths.utsns }),
      ...(hostIpc ? {} : { ipc: paths.ipcns }),
    },
    ...(hostIpc ? {} : { shm: paths.shm }),
    ips: [],
    status,
    version: 3,
  };
}

const specFor = (pod: Pod) => generateSpec([...defaultOpts(), ...podSpecOpts(pod, dirs)], { id: 'ctr1' });
const dir = `/run/berth/pods/${'a'.repeat(64)}`;

test('a container of a pod joins its pinned namespaces and gets its files, shm, sysctls, cgroup', async () => {
  const spec = await specFor(
    fakePod({ sysctls: { 'net.core.somaxconn': '1024' }, cgroupParent: '/kubepods/besteffort/pod6e0e' }),
  );
  assert.deepEqual(spec.linux?.namespaces, [
    { type: 'pid' },
    { type: 'ipc', path: `${dir}/ns/ipc` },
    { type: 'uts', path: `${dir}/ns/uts` },
    { type: 'mount' },
    { type: 'network', path: `${dir}/ns/net` },
  ]);
  const mounts = Object.fromEntries((spec.mounts ?? []).map((m) => [m.destination, m]));
  assert.deepEqual(mounts['/dev/shm'], {
    destination: '/dev/shm',
    type: 'bind',
    source: `${dir}/shm`,
    options: ['rbind', 'rprivate', 'rw'],
  });
  assert.equal(mounts['/etc/hosts']?.source, `${dir}/hosts`);
  assert.equal(mounts['/etc/resolv.conf']?.source, `${dir}/resolv.conf`);
  assert.equal(mounts['/etc/hostname']?.source, `${dir}/hostname`);
  assert.equal(
    (spec.mounts ?? []).filter((m) => m.destination === '/dev/shm').length,
    1,
    'the default shm tmpfs is replaced',
  );
  assert.equal(spec.hostname, 'web');
  assert.deepEqual(spec.linux?.sysctl, { 'net.core.somaxconn': '1024' });
  assert.equal(spec.linux?.cgroupsPath, '/kubepods/besteffort/pod6e0e/ctr1');
  assert.equal((await specFor(fakePod())).linux?.cgroupsPath, '/berth/ctr1');
});

test('host network, IPC and PID: the host namespaces, the host shm, no host name', async () => {
  const spec = await specFor(fakePod({ namespaces: { network: 'node', ipc: 'node', pid: 'node' } }));
  assert.deepEqual(spec.linux?.namespaces, [{ type: 'mount' }]);
  assert.equal(spec.hostname, undefined);
  assert.equal(spec.mounts?.find((m) => m.destination === '/dev/shm')?.source, '/dev/shm');
});

test("the same as plain data fits the container service's PodSettings", () => {
  const s = podContainerSettings(
    fakePod({ sysctls: { 'kernel.shmmax': '1' }, cgroupParent: '/kubepods/p' }),
    dirs,
  );
  const settings: PodSettings = s; // compile-time: the shapes agree
  assert.deepEqual(settings.namespaces, [
    { type: 'network', path: `${dir}/ns/net` },
    { type: 'ipc', path: `${dir}/ns/ipc` },
    { type: 'uts', path: `${dir}/ns/uts` },
  ]);
  assert.equal(s.hostname, 'web');
  assert.deepEqual(settings.etcFiles, {
    hostname: `${dir}/hostname`,
    hosts: `${dir}/hosts`,
    resolvConf: `${dir}/resolv.conf`,
  });
  assert.deepEqual(settings.mounts, [
    { destination: '/dev/shm', type: 'bind', source: `${dir}/shm`, options: ['rbind', 'rprivate', 'rw'] },
  ]);
  assert.deepEqual(settings.sysctls, { 'kernel.shmmax': '1' });
  assert.equal(settings.cgroupParent, '/kubepods/p');
  const host = podContainerSettings(
    fakePod({ namespaces: { network: 'node', ipc: 'node', pid: 'node' } }),
    dirs,
  );
  assert.deepEqual(host.namespaces, [{ type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'pid' }]);
  assert.equal(host.hostname, undefined);
  assert.equal(host.cgroupParent, undefined);
});

test('a pod-wide PID namespace: containers join the infra process pinned file', async () => {
  const base = fakePod({ namespaces: { pid: 'pod' } });
  const pod: Pod = {
    ...base,
    namespaces: { ...base.namespaces, pid: `${dir}/ns/pid` },
    infra: { pid: 4242, startTime: '123' },
  };
  assert.deepEqual(podContainerSettings(pod, dirs).namespaces, [
    { type: 'network', path: `${dir}/ns/net` },
    { type: 'ipc', path: `${dir}/ns/ipc` },
    { type: 'uts', path: `${dir}/ns/uts` },
    { type: 'pid', path: `${dir}/ns/pid` },
  ]);
  const spec = await specFor(pod);
  assert.deepEqual(
    spec.linux?.namespaces?.find((n) => n.type === 'pid'),
    { type: 'pid', path: `${dir}/ns/pid` },
  );
  assert.equal(podPaths(dirs, pod.id).pidns, `${dir}/ns/pid`);
});

test('containers can join ready pods only', () => {
  assert.throws(() => podSpecOpts(fakePod({}, 'notready'), dirs), { code: 'FailedPrecondition' });
});

test('RunPodSandbox requests are checked field by field', () => {
  const ok: RunPodRequest = { metadata: meta };
  assert.equal(
    checkRunRequest(ok, 'node1').hostname,
    'node1',
    "the node's name when no hostname (containerd, CRI-O)",
  );
  assert.equal(
    checkRunRequest({ ...ok, hostname: 'x', namespaces: { network: 'node' } }, 'node1').hostname,
    'node1',
  );
  assert.equal(checkRunRequest(ok, 'n').shmSize, 64 * 1024 * 1024);
  const bad = (req: Partial<RunPodRequest>, re: RegExp) =>
    assert.throws(
      () => checkRunRequest({ ...ok, ...req }, 'n'),
      (e: unknown) => e instanceof InvalidArgumentError && re.test(e.message),
    );
  bad({ metadata: { ...meta, name: '' } }, /metadata.name/);
  bad({ metadata: { ...meta, uid: 'a;b' } }, /metadata.uid/);
  bad({ metadata: { ...meta, attempt: -1 } }, /attempt/);
  bad({ hostname: 'bad_name' }, /hostname "bad_name"/);
  bad({ dnsConfig: { servers: ['dns.example'] } }, /not an IP address/);
  bad({ dnsConfig: { searches: ['a b'] } }, /not one word/);
  bad({ dnsConfig: { options: ['ndots:5\nnameserver 1.1.1.1'] } }, /not one word/);
  bad({ portMappings: [{ containerPort: 0 }] }, /container port/);
  bad({ portMappings: [{ containerPort: 80, hostPort: 70000 }] }, /host port/);
  bad({ portMappings: [{ containerPort: 80, hostIp: 'localhost' }] }, /host IP/);
  bad({ cgroupParent: 'kubepods.slice' }, /cgroupfs path/);
  bad({ cgroupParent: '/kubepods/../x' }, /cgroups path/);
  bad({ sysctls: { 'kernel.core_pattern': '|x' } }, /not namespaced/);
  bad({ sysctls: { 'net.core.somaxconn': '1' }, namespaces: { network: 'node' } }, /host's network/);
  bad({ namespaces: { ipc: 'container' as 'pod' } }, /namespaces.ipc/);
  bad({ shmSizeBytes: 10 }, /shm size/);
  bad({ namespaces: { pid: 'shared' as 'pod' } }, /namespaces.pid/);
  assert.equal(checkRunRequest({ ...ok, namespaces: { pid: 'pod' } }, 'n').request.namespaces?.pid, 'pod');
});

test('resolv.conf from a DNSConfig, or the host file without loopback servers', () => {
  const dns = checkDnsConfig({
    servers: ['10.96.0.10', 'fd00::a'],
    searches: ['ns.svc.cluster.local', 'svc.cluster.local'],
    options: ['ndots:5'],
  });
  assert.equal(
    renderResolvConf(dns),
    'search ns.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\nnameserver fd00::a\noptions ndots:5\n',
  );
  assert.equal(renderResolvConf({ servers: ['1.1.1.1'] }), 'nameserver 1.1.1.1\n');
  assert.throws(() => checkDnsConfig({ servers: ['1.1.1.1', '1.1.1.2', '1.1.1.3', '1.1.1.4'] }), /at most 3/);
  const host = 'nameserver 127.0.0.53\nnameserver ::1\nnameserver 192.0.2.1\nsearch lan\n';
  assert.equal(resolvConfFromHost(host, false), 'nameserver 192.0.2.1\nsearch lan\n');
  assert.equal(resolvConfFromHost(host, true), host);
});

test('/etc/hosts names the pod IPs, or 127.0.1.1 without any', () => {
  assert.match(hostsFile('web', ['10.89.0.5', 'fd00::5']), /\n10\.89\.0\.5\tweb\nfd00::5\tweb\n$/);
  assert.match(hostsFile('web', []), /\n127\.0\.1\.1\tweb\n$/);
  assert.match(hostsFile('web', []), /^127\.0\.0\.1\tlocalhost\n/);
});

test('the CNI attachment: pod id, eth0, kubernetes CNI_ARGS, host-port mappings only', () => {
  const att = podAttachment('abc', '/ns/net', meta, [
    { containerPort: 80, hostPort: 8080 },
    { containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIp: '127.0.0.1' },
    { containerPort: 9090 },
  ]);
  assert.deepEqual(att, {
    containerId: 'abc',
    netns: '/ns/net',
    ifName: 'eth0',
    args: {
      IgnoreUnknown: '1',
      K8S_POD_NAMESPACE: 'default',
      K8S_POD_NAME: 'web',
      K8S_POD_INFRA_CONTAINER_ID: 'abc',
      K8S_POD_UID: '6e0e-11',
    },
    capabilityArgs: {
      portMappings: [
        { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
      ],
    },
  });
  assert.equal(podAttachment('abc', '/ns/net', meta, [{ containerPort: 80 }]).capabilityArgs, undefined);
});

test('pod rows: unique names, compare-and-set, lookups by id, name, prefix', (t) => {
  using m = openMetadata(tempDir(t, 'metadata-pods'));
  const records = new PodRecords(m.pods);
  const pod = fakePod();
  const { status: _s, version: _v, ...record } = pod;
  const p = records.insert('creating', record);
  assert.equal(p.version, 1);
  assert.throws(() => records.insert('creating', { ...record, id: 'b'.repeat(64) }), {
    code: 'AlreadyExists',
  });
  const ready = records.save(p, 'ready', { ips: ['10.89.0.5'] });
  assert.equal(ready.version, 2);
  assert.throws(() => records.save(p, 'notready'), { code: 'FailedPrecondition' }, 'a stale write loses');
  assert.equal(records.get(p.id).status, 'ready');
  assert.deepEqual(records.find(pod.name).ips, ['10.89.0.5']);
  assert.equal(records.find('aaaa').id, p.id);
  records.delete(p.id);
  assert.throws(() => records.get(p.id), { code: 'NotFound' });
  assert.throws(
    () => m.pods.create({ id: 'c', name: 'x', status: 'removed' as 'ready', record: {} }),
    /CHECK/,
  );
});
