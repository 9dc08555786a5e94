// The generated CRI codecs (src/cri/gen, from src/cri/proto/api.proto): messages survive a binary
// round trip, and the bytes carry the upstream field numbers and types (the wire format kubelet and
// crictl speak). Expected bytes are written out by hand from the published field numbers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, equals, fromBinary, fromJson, type JsonObject, toBinary, toJson } from '@bufbuild/protobuf';
import {
  ContainerConfigSchema,
  ContainerState,
  ContainerStatusSchema,
  ImageService,
  ImageSpecSchema,
  LinuxPodSandboxConfigSchema,
  PodSandboxConfigSchema,
  RuntimeService,
  SecurityProfile_ProfileType,
  VersionResponseSchema,
} from '../../src/cri/gen/api_pb.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const ascii = (s: string) => Buffer.from(s, 'latin1').toString('hex');

test('VersionResponse: fields 1–4 as length-delimited strings', () => {
  const msg = create(VersionResponseSchema, {
    version: '0.1.0',
    runtimeName: 'berth',
    runtimeVersion: '1.2.3',
    runtimeApiVersion: 'v1',
  });
  const bytes = toBinary(VersionResponseSchema, msg);
  // tag = field << 3 | 2 (length-delimited): 0x0a, 0x12, 0x1a, 0x22
  assert.equal(
    hex(bytes),
    `0a05${ascii('0.1.0')}1205${ascii('berth')}1a05${ascii('1.2.3')}2202${ascii('v1')}`,
  );
  assert.ok(equals(VersionResponseSchema, fromBinary(VersionResponseSchema, bytes), msg));
});

test('ImageSpec: the high field numbers 18 and 19 and a map entry', () => {
  const msg = create(ImageSpecSchema, {
    image: 'busybox',
    annotations: { a: 'b' },
    userSpecifiedImage: 'u',
    runtimeHandler: 'r',
  });
  const bytes = toBinary(ImageSpecSchema, msg);
  // field 2 is map<string,string>: an entry message with key = 1, value = 2
  // field 18 → tag 146 → varint 92 01; field 19 → tag 154 → 9a 01
  assert.equal(
    hex(bytes),
    `0a07${ascii('busybox')}12060a01${ascii('a')}1201${ascii('b')}920101${ascii('u')}9a0101${ascii('r')}`,
  );
  assert.ok(equals(ImageSpecSchema, fromBinary(ImageSpecSchema, bytes), msg));
});

test('ContainerStatus: int64 nanosecond times, a negative int32 exit code and an enum', () => {
  const msg = create(ContainerStatusSchema, {
    id: 'c1',
    state: ContainerState.CONTAINER_EXITED,
    createdAt: 1_700_000_000_000_000_000n,
    exitCode: -1,
    reason: 'OOMKilled',
    mounts: [
      {
        containerPath: '/data',
        hostPath: '/srv',
        uidMappings: [{ hostId: 1000, containerId: 0, length: 1 }],
      },
    ],
  });
  const back = fromBinary(ContainerStatusSchema, toBinary(ContainerStatusSchema, msg));
  assert.ok(equals(ContainerStatusSchema, back, msg));
  assert.equal(back.createdAt, 1_700_000_000_000_000_000n);
  assert.equal(back.exitCode, -1);
  assert.equal(back.state, 2);
  // field 3 (state) as a varint: tag 0x18, then CONTAINER_EXITED = 2
  assert.match(hex(toBinary(ContainerStatusSchema, create(ContainerStatusSchema, { state: 2 }))), /^1802$/);
});

test('a pod and container config with nested messages, wrappers, maps and upstream field names', () => {
  const sandbox = create(PodSandboxConfigSchema, {
    metadata: { name: 'pod', uid: 'uid-1', namespace: 'default', attempt: 1 },
    logDirectory: '/var/log/pods/x',
    dnsConfig: { servers: ['10.0.0.10'], searches: ['svc.cluster.local'], options: ['ndots:5'] },
    portMappings: [{ containerPort: 80, hostPort: 8080 }],
    labels: { app: 'web' },
    linux: {
      cgroupParent: '/kubepods',
      sysctls: { 'net.ipv4.ip_forward': '1' },
      securityContext: {
        runAsUser: { value: 0n },
        seccomp: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: 'p.json' },
        namespaceOptions: { network: 2 },
      },
    },
  });
  const back = fromBinary(PodSandboxConfigSchema, toBinary(PodSandboxConfigSchema, sandbox));
  assert.ok(equals(PodSandboxConfigSchema, back, sandbox));
  // a wrapper holding zero is still present: "run as root" differs from "not set"
  assert.equal(back.linux?.securityContext?.runAsUser?.value, 0n);
  assert.equal(
    create(LinuxPodSandboxConfigSchema, { securityContext: {} }).securityContext?.runAsUser,
    undefined,
  );

  const container = create(ContainerConfigSchema, {
    metadata: { name: 'c', attempt: 0 },
    image: { image: 'busybox' },
    command: ['sh', '-c'],
    args: ['echo hi'],
    envs: [{ key: 'A', value: 'b' }],
    CDIDevices: [{ name: 'vendor.com/gpu=0' }],
    linux: { resources: { memoryLimitInBytes: 64n << 20n, unified: { 'memory.high': '1M' } } },
  });
  assert.ok(
    equals(
      ContainerConfigSchema,
      fromBinary(ContainerConfigSchema, toBinary(ContainerConfigSchema, container)),
      container,
    ),
  );
  // JSON uses the proto names' lowerCamel forms, as crictl's -o json output does
  const json = toJson(ContainerConfigSchema, container) as JsonObject;
  assert.deepEqual(json.CDIDevices, [{ name: 'vendor.com/gpu=0' }]);
  assert.ok(equals(ContainerConfigSchema, fromJson(ContainerConfigSchema, json), container));
});

test('unknown fields from a newer client survive a round trip (forward compatibility)', () => {
  // VersionResponse with field 4 and an unknown field 15 (varint 7): tag 0x78
  const bytes = Buffer.from(`2202${ascii('v1')}7807`, 'hex');
  const msg = fromBinary(VersionResponseSchema, bytes);
  assert.equal(msg.runtimeApiVersion, 'v1');
  assert.equal(hex(toBinary(VersionResponseSchema, msg)), hex(bytes));
});

test('the services have the v1.29 methods under runtime.v1', () => {
  assert.equal(RuntimeService.typeName, 'runtime.v1.RuntimeService');
  assert.equal(ImageService.typeName, 'runtime.v1.ImageService');
  assert.equal(RuntimeService.methods.length, 29);
  assert.deepEqual(
    ImageService.methods.map((m) => m.name),
    ['ListImages', 'ImageStatus', 'PullImage', 'RemoveImage', 'ImageFsInfo'],
  );
  const events = RuntimeService.method.getContainerEvents;
  assert.equal(events.methodKind, 'server_streaming');
  assert.equal(events.output.typeName, 'runtime.v1.ContainerEventResponse');
  for (const m of RuntimeService.methods) {
    if (m !== events) assert.equal(m.methodKind, 'unary', m.name);
  }
});
