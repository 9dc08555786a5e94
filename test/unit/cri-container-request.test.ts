// CRI ContainerConfig → the container service's CreateRequest (src/cri/container-request.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { createRequest, linuxResources, type PodView } from '../../src/cri/container-request.ts';
import {
  ContainerConfigSchema,
  MountPropagation,
  NamespaceMode,
  SecurityProfile_ProfileType,
} from '../../src/cri/gen/api_pb.js';

const pod: PodView = {
  id: 'p'.repeat(64),
  netns: '/run/berth/pods/p/ns/net',
  ipcns: '/run/berth/pods/p/ns/ipc',
  utsns: '/run/berth/pods/p/ns/uts',
  cgroupParent: '/kubepods/pod1',
  logDirectory: '/var/log/pods/ns_web_uid',
  etcFiles: { hosts: '/run/berth/pods/p/hosts' },
  shm: '/run/berth/pods/p/shm',
  runtimeHandler: 'crun',
  nameSuffix: 'web_ns_uid_0',
  hostname: 'web',
};
const noDevice = () => assert.fail('no device expected');

test('command, args, env, user, mounts and log path follow api.proto', () => {
  const config = create(ContainerConfigSchema, {
    metadata: { name: 'app', attempt: 2 },
    image: { image: 'busybox' },
    command: ['/bin/sh'],
    args: ['-c', 'true'],
    envs: [{ key: 'A', value: '1' }],
    workingDir: '/srv',
    labels: { tier: 'front' },
    logPath: 'app/2.log',
    mounts: [
      {
        containerPath: '/data',
        hostPath: '/srv/data',
        readonly: true,
        propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
      },
    ],
    linux: {
      securityContext: {
        runAsUser: { value: 1000n },
        runAsGroup: { value: 50n },
        supplementalGroups: [7n],
        readonlyRootfs: true,
        capabilities: { addCapabilities: ['NET_ADMIN'], dropCapabilities: ['CHOWN'] },
        seccomp: { profileType: SecurityProfile_ProfileType.Unconfined },
        namespaceOptions: { pid: NamespaceMode.CONTAINER },
      },
    },
  });
  const req = createRequest(config, pod, 'docker.io/library/busybox:latest', noDevice);
  assert.equal(req.name, 'k8s_app_web_ns_uid_0_2');
  assert.deepEqual(req.entrypoint, ['/bin/sh']);
  assert.deepEqual(req.args, ['-c', 'true']);
  assert.deepEqual(req.env, ['A=1']);
  assert.equal(req.user, '1000:50');
  assert.equal(req.workingDir, '/srv');
  assert.equal(req.readonlyRootfs, true);
  assert.equal(req.runtime, 'crun');
  assert.equal(req.hostname, 'web');
  assert.deepEqual(req.capAdd, ['NET_ADMIN']);
  assert.deepEqual(req.capDrop, ['CHOWN']);
  assert.equal(req.pod?.logPath, '/var/log/pods/ns_web_uid/app/2.log');
  assert.deepEqual(req.pod?.seccomp, { kind: 'unconfined' });
  assert.deepEqual(req.pod?.supplementalGroups, [7]);
  assert.equal(req.pod?.cgroupParent, '/kubepods/pod1');
  assert.deepEqual(
    req.pod?.namespaces?.map((n) => `${n.type}:${n.path ?? 'host'}`),
    ['network:/run/berth/pods/p/ns/net', 'ipc:/run/berth/pods/p/ns/ipc', 'uts:/run/berth/pods/p/ns/uts'],
  );
  const data = req.pod?.mounts?.find((m) => m.destination === '/data');
  assert.deepEqual(data?.options, ['rbind', 'rslave', 'ro']);
  assert.equal(req.pod?.mounts?.[0]?.destination, '/dev/shm', "the pod's shm comes first");
  assert.equal(req.labels?.['io.berth.cri.label/tier'], 'front');
  assert.equal(req.pod?.annotations?.['io.kubernetes.cri.sandbox-id'], pod.id);
});

test('host network pods share the host namespace; PID POD needs the pod to have one', () => {
  const host: PodView = { ...pod, netns: undefined as never, ipcns: undefined as never };
  delete (host as Partial<PodView>).netns;
  delete (host as Partial<PodView>).ipcns;
  const base = { metadata: { name: 'c' }, image: { image: 'x' } };
  const req = createRequest(create(ContainerConfigSchema, base), host, 'x', noDevice);
  assert.equal(req.network, 'host');
  assert.deepEqual(req.pod?.namespaces?.slice(0, 2), [{ type: 'network' }, { type: 'ipc' }]);
  const podPid = create(ContainerConfigSchema, {
    ...base,
    linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.POD } } },
  });
  assert.throws(() => createRequest(podPid, pod, 'x', noDevice), { code: 'InvalidArgument' });
  const shared = createRequest(podPid, { ...pod, pidns: '/run/berth/pods/p/ns/pid' }, 'x', noDevice);
  assert.deepEqual(shared.pod?.namespaces?.at(-1), { type: 'pid', path: '/run/berth/pods/p/ns/pid' });
  const own = create(ContainerConfigSchema, {
    ...base,
    linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.CONTAINER } } },
  });
  const alone = createRequest(own, { ...pod, pidns: '/run/berth/pods/p/ns/pid' }, 'x', noDevice);
  assert.equal(
    alone.pod?.namespaces?.some((n) => n.type === 'pid'),
    false,
    'its own PID namespace (the default spec makes one)',
  );
  assert.throws(() => createRequest(create(ContainerConfigSchema, {}), pod, 'x', noDevice), /metadata\.name/);
});

test('resources: zero means unset; the rest map to runtime-spec fields', () => {
  assert.deepEqual(linuxResources(undefined), undefined);
  const r = linuxResources({
    $typeName: 'runtime.v1.LinuxContainerResources',
    cpuPeriod: 100000n,
    cpuQuota: 50000n,
    cpuShares: 512n,
    memoryLimitInBytes: 1048576n,
    oomScoreAdj: 0n,
    cpusetCpus: '0-1',
    cpusetMems: '',
    hugepageLimits: [],
    unified: {},
    memorySwapLimitInBytes: 0n,
  });
  assert.deepEqual(r, {
    memory: { limit: 1048576 },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0-1' },
  });
});

test('devices take the host node type and numbers', () => {
  const config = create(ContainerConfigSchema, {
    metadata: { name: 'c' },
    image: { image: 'x' },
    devices: [{ containerPath: '/dev/fuse', hostPath: '/dev/fuse', permissions: 'rwm' }],
  });
  const req = createRequest(config, pod, 'x', () => ({ type: 'c', major: 10, minor: 229 }));
  assert.deepEqual(req.pod?.devices, [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }]);
});
