// The runtime-spec validators: config.json (validateSpec) and state (validateState). Every error
// is an InvalidArgumentError naming the document and the field path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../src/errdefs/index.ts';
import { validateSpec, validateState } from '../../src/oci/runtime/index.ts';

const minimal = () => ({
  ociVersion: '1.2.0',
  root: { path: 'rootfs' },
  process: { user: { uid: 0, gid: 0 }, cwd: '/', args: ['sh'] },
});

// An InvalidArgumentError whose message is exactly `message`, or matches it.
const invalid = (message: string | RegExp) => (err: unknown) => {
  assert.ok(err instanceof InvalidArgumentError, String(err));
  if (typeof message === 'string') assert.equal(err.message, message);
  else assert.match(err.message, message);
  return true;
};

test('a minimal spec passes and unknown fields are dropped', () => {
  const s = validateSpec({ ...minimal(), vendorThing: 1, hostname: 'x' });
  assert.deepEqual(s, { ...minimal(), hostname: 'x' });
});

test('explicit null optional fields count as absent (Go writes nil slices as null)', () => {
  const s = validateSpec({ ...minimal(), mounts: null, annotations: null });
  assert.equal(s.mounts, undefined);
});

const bad: [string, (s: Record<string, unknown>) => void, string | RegExp][] = [
  ['missing ociVersion', (s) => delete s.ociVersion, 'config.json: ociVersion: required field is missing'],
  ['non-semver version', (s) => (s.ociVersion = '1.2'), /^config\.json: ociVersion: expected a SemVer/],
  ['major version 2', (s) => (s.ociVersion = '2.0.0'), /ociVersion: version 2.0.0 is not 1.x/],
  ['missing root', (s) => delete s.root, 'config.json: root: required field is missing'],
  [
    'relative cwd',
    (s) => ((s.process as { cwd: string }).cwd = 'tmp'),
    /^config\.json: process\.cwd: expected an absolute path/,
  ],
  [
    'uid past uint32',
    (s) => ((s.process as { user: object }).user = { uid: 2 ** 32, gid: 0 }),
    'config.json: process.user.uid: expected an integer in 0 … 2^32-1, got number 4294967296',
  ],
  [
    'negative gid',
    (s) => ((s.process as { user: object }).user = { uid: 0, gid: -1 }),
    /process\.user\.gid: expected an integer/,
  ],
  [
    'bad env entry',
    (s) => ((s.process as { env: string[] }).env = ['=x']),
    /process\.env\[0\]: expected NAME=value/,
  ],
  [
    'bad capability',
    (s) => ((s.process as { capabilities: object }).capabilities = { bounding: ['chown'] }),
    /process\.capabilities\.bounding\[0\]: "chown" is not a capability name/,
  ],
  [
    'soft above hard',
    (s) => ((s.process as { rlimits: object[] }).rlimits = [{ type: 'RLIMIT_NOFILE', soft: 2, hard: 1 }]),
    'config.json: process.rlimits[0]: soft limit 2 is above the hard limit 1',
  ],
  [
    'relative mount destination',
    (s) => (s.mounts = [{ destination: 'proc', type: 'proc' }]),
    /mounts\[0\]\.destination: expected an absolute path/,
  ],
  [
    'hook timeout 0',
    (s) => (s.hooks = { poststop: [{ path: '/bin/true', timeout: 0 }] }),
    /hooks\.poststop\[0\]\.timeout: must be greater than zero/,
  ],
  [
    'annotation not a string',
    (s) => (s.annotations = { 'a.b': 1 }),
    /^config\.json: annotations\["a\.b"\]: expected a string/,
  ],
  [
    'unknown namespace',
    (s) => (s.linux = { namespaces: [{ type: 'net' }] }),
    /linux\.namespaces\[0\]\.type: "net" is not one of/,
  ],
  [
    'duplicate namespace',
    (s) => (s.linux = { namespaces: [{ type: 'pid' }, { type: 'pid' }] }),
    'config.json: linux.namespaces[1].type: namespace pid given twice',
  ],
  [
    'uid mappings alone',
    (s) => (s.linux = { uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] }),
    /linux: uidMappings and gidMappings/,
  ],
  [
    'bad seccomp action',
    (s) => (s.linux = { seccomp: { defaultAction: 'SCMP_ACT_NOPE' } }),
    /linux\.seccomp\.defaultAction: "SCMP_ACT_NOPE" is not one of/,
  ],
  [
    'empty syscall names',
    (s) =>
      (s.linux = {
        seccomp: { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: [], action: 'SCMP_ACT_ALLOW' }] },
      }),
    'config.json: linux.seccomp.syscalls[0].names: must name at least one syscall',
  ],
  [
    'bad device rule type',
    (s) => (s.linux = { resources: { devices: [{ allow: true, type: 'x' }] } }),
    /linux\.resources\.devices\[0\]\.type/,
  ],
  [
    'pids without limit',
    (s) => (s.linux = { resources: { pids: {} } }),
    'config.json: linux.resources.pids.limit: required field is missing',
  ],
  [
    'bad propagation',
    (s) => (s.linux = { rootfsPropagation: 'rshared' }),
    /linux\.rootfsPropagation: "rshared" is not one of/,
  ],
  [
    'relative masked path',
    (s) => (s.linux = { maskedPaths: ['proc/kcore'] }),
    /linux\.maskedPaths\[0\]: expected an absolute path/,
  ],
];

for (const [name, edit, message] of bad) {
  test(`validateSpec refuses: ${name}`, () => {
    const s: Record<string, unknown> = minimal();
    edit(s);
    assert.throws(() => validateSpec(s), invalid(message));
  });
}

test('the document name given appears in errors', () => {
  assert.throws(
    () => validateSpec(42, 'bundle /b/config.json'),
    invalid('bundle /b/config.json: expected an object, got number 42'),
  );
});

test('uint64 values past 2^53 (RLIM_INFINITY) are accepted as the double they parse to', () => {
  const s = JSON.parse(
    `{"ociVersion":"1.0.2-dev","root":{"path":"rootfs"},"process":{"user":{"uid":0,"gid":0},"cwd":"/","rlimits":[{"type":"RLIMIT_CORE","soft":18446744073709551615,"hard":18446744073709551615}]}}`,
  );
  assert.equal(validateSpec(s).process?.rlimits?.[0]?.hard, 2 ** 64);
});

test('validateState accepts runc state output and ignores its extra fields', () => {
  const st = validateState({
    ociVersion: '1.0.2-dev',
    id: 'abc',
    pid: 4422,
    status: 'running',
    bundle: '/run/berth/abc',
    rootfs: '/run/berth/abc/rootfs',
    created: '2024-01-01T00:00:00Z',
    owner: '',
  });
  assert.deepEqual(st, {
    ociVersion: '1.0.2-dev',
    id: 'abc',
    status: 'running',
    bundle: '/run/berth/abc',
    pid: 4422,
  });
  assert.equal(
    validateState({ ociVersion: '1.2.0', id: 'x', status: 'stopped', pid: 0, bundle: '/b' }).pid,
    0,
  );
});

test('validateState refuses bad documents, naming the field', () => {
  const base = { ociVersion: '1.2.0', id: 'x', status: 'created', pid: 7, bundle: '/b' };
  assert.throws(
    () => validateState({ ...base, status: 'paused' }, 'runc state x'),
    invalid(/^runc state x: status: "paused" is not one of/),
  );
  assert.throws(
    () => validateState({ ...base, pid: 0 }),
    invalid('state: pid: required (and not 0) when status is created'),
  );
  assert.throws(
    () => validateState({ ...base, bundle: 'b' }),
    invalid(/^state: bundle: expected an absolute path/),
  );
  assert.throws(() => validateState({ ...base, id: '' }), invalid('state: id: must not be empty'));
  assert.throws(() => validateState({ ...base, pid: -3 }), invalid(/^state: pid: expected a pid/));
});
