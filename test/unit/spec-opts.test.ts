// The small options: capabilities (Docker's add/drop rules), privileged, namespaces, cgroup
// limits, hostname, env, tty, read-only root, annotations; and bind mount path checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../src/errdefs/index.ts';
import {
  checkContainerPath,
  DEFAULT_CAPABILITIES,
  defaultOpts,
  generateSpec,
  KNOWN_CAPABILITIES,
  type SpecOpt,
  tweakCapabilities,
  withAnnotations,
  withArgs,
  withBindMount,
  withCapabilities,
  withCgroupsPath,
  withCPUs,
  withCwd,
  withEnv,
  withHostNamespace,
  withHostname,
  withMemoryLimit,
  withMounts,
  withNamespacePath,
  withPidsLimit,
  withPrivileged,
  withReadonlyRootfs,
  withTTY,
} from '../../src/spec/index.ts';

const gen = (...opts: SpecOpt[]) => generateSpec([...defaultOpts(), ...opts], { id: 'c' });
const invalid = (re: RegExp) => (err: unknown) => err instanceof InvalidArgumentError && re.test(err.message);

test('cap add/drop follow Docker: names in any case, with or without CAP_, ALL', () => {
  const d = DEFAULT_CAPABILITIES;
  assert.deepEqual(
    tweakCapabilities(d, { drop: ['net_raw', 'CAP_MKNOD'] }),
    d.filter((c) => c !== 'CAP_NET_RAW' && c !== 'CAP_MKNOD'),
  );
  assert.deepEqual(tweakCapabilities(d, { add: ['sys_admin'] }), [...d, 'CAP_SYS_ADMIN']);
  assert.deepEqual(tweakCapabilities(d, { drop: ['ALL'], add: ['chown', 'kill'] }), [
    'CAP_CHOWN',
    'CAP_KILL',
  ]);
  assert.deepEqual(
    tweakCapabilities(d, { add: ['all'], drop: ['sys_admin'] }),
    KNOWN_CAPABILITIES.filter((c) => c !== 'CAP_SYS_ADMIN'),
  );
  assert.throws(
    () => tweakCapabilities(d, { add: ['CAP_FLY'] }),
    invalid(/capability "CAP_FLY": unknown capability/),
  );
});

test('withCapabilities edits the sets and leaves inheritable and ambient empty', async () => {
  const s = await gen(withCapabilities({ add: ['NET_ADMIN'], drop: ['KILL'] }));
  const caps = s.process?.capabilities;
  assert.ok(caps?.bounding?.includes('CAP_NET_ADMIN') && !caps.bounding.includes('CAP_KILL'));
  assert.deepEqual(caps?.effective, caps?.bounding);
  assert.equal(caps?.inheritable, undefined);
  assert.equal(caps?.ambient, undefined);
});

test('privileged: all caps whatever the order, no seccomp, no masked/readonly paths, rw sysfs, all devices', async () => {
  const s = await gen(withPrivileged(), withCapabilities({ drop: ['ALL'] }));
  assert.deepEqual(s.process?.capabilities?.bounding, KNOWN_CAPABILITIES);
  assert.equal(s.linux?.seccomp, undefined);
  assert.equal(s.linux?.maskedPaths, undefined);
  assert.equal(s.linux?.readonlyPaths, undefined);
  assert.deepEqual(s.mounts?.find((m) => m.type === 'sysfs')?.options, ['nosuid', 'noexec', 'nodev', 'rw']);
  assert.deepEqual(s.linux?.resources?.devices, [{ allow: true, access: 'rwm' }]);
  const mine = await generateSpec([...defaultOpts(), withPrivileged()], {
    id: 'c',
    hostCapabilities: ['CAP_CHOWN'],
  });
  assert.deepEqual(mine.process?.capabilities?.bounding, ['CAP_CHOWN']);
});

test('namespaces: host namespace removes the entry, a path replaces it in place', async () => {
  const s = await gen(withHostNamespace('network'), withNamespacePath('ipc', '/proc/1/ns/ipc'));
  assert.deepEqual(s.linux?.namespaces, [
    { type: 'pid' },
    { type: 'ipc', path: '/proc/1/ns/ipc' },
    { type: 'uts' },
    { type: 'mount' },
  ]);
  assert.throws(() => withNamespacePath('net' as 'network', '/x'), invalid(/namespace type "net"/));
  assert.throws(() => withNamespacePath('ipc', 'proc/1/ns/ipc'), invalid(/must be absolute/));
});

test('cgroup limits: memory, cpus as quota/period, pids', async () => {
  const s = await gen(
    withMemoryLimit(64 * 1024 * 1024),
    withCPUs(1.5),
    withPidsLimit(100),
    withCgroupsPath('/x/y'),
  );
  assert.deepEqual(s.linux?.resources?.memory, { limit: 64 * 1024 * 1024 });
  assert.deepEqual(s.linux?.resources?.cpu, { period: 100000, quota: 150000 });
  assert.deepEqual(s.linux?.resources?.pids, { limit: 100 });
  assert.equal(s.linux?.cgroupsPath, '/x/y');
  assert.equal((await gen(withPidsLimit(100), withPidsLimit(-1))).linux?.resources?.pids, undefined);
  assert.throws(() => withMemoryLimit(1024), invalid(/at least 6291456 bytes/));
  assert.throws(() => withCPUs(0), invalid(/cpus 0: must be a number of at least 0.01/));
  assert.throws(() => withPidsLimit(-2), invalid(/pids limit -2/));
});

test('hostname, args, cwd, env, tty, read-only root, annotations', async () => {
  const s = await gen(
    withHostname('web-1.example'),
    withArgs(['sh', '-c', 'true']),
    withCwd('/srv'),
    withEnv(['A=1', 'B=2']),
    withEnv(['A=3', 'B']),
    withTTY({ width: 80, height: 24 }),
    withReadonlyRootfs(),
    withAnnotations({ 'io.kubernetes.cri.container-type': 'container' }),
  );
  assert.equal(s.hostname, 'web-1.example');
  assert.deepEqual(s.process?.args, ['sh', '-c', 'true']);
  assert.equal(s.process?.cwd, '/srv');
  assert.deepEqual(s.process?.env, ['A=3', 'TERM=xterm']);
  assert.equal(s.process?.terminal, true);
  assert.deepEqual(s.process?.consoleSize, { width: 80, height: 24 });
  assert.deepEqual(s.root, { path: 'rootfs', readonly: true });
  assert.deepEqual(s.annotations, { 'io.kubernetes.cri.container-type': 'container' });
  assert.throws(() => withHostname('bad_host'), invalid(/hostname "bad_host"/));
  assert.throws(() => withHostname('a'.repeat(65)), invalid(/at most 64/));
  assert.throws(() => withCwd('srv'), invalid(/must be absolute/));
});

test('bind mounts: rbind, rprivate, ro/rw; destination cleaned and replacing a default mount', async () => {
  const s = await gen(withBindMount('/srv/data/', '/data//x/'), withBindMount('/tmp/shm', '/dev/shm', true));
  const mounts = s.mounts ?? [];
  assert.deepEqual(mounts.at(-2), {
    destination: '/data/x',
    type: 'bind',
    source: '/srv/data/',
    options: ['rbind', 'rprivate', 'rw'],
  });
  assert.deepEqual(mounts.at(-1)?.options, ['rbind', 'rprivate', 'ro']);
  assert.equal(mounts.filter((m) => m.destination === '/dev/shm').length, 1);
});

test('mount destinations are checked (CVE-2022-23648 class)', () => {
  const cases: [string, RegExp][] = [
    ['', /mount destination: must not be empty/],
    ['data', /"data": must be an absolute path/],
    ['../../etc', /must be an absolute path/],
    ['/data/../../../etc', /must not contain "\.\." components/],
    ['/..', /must not contain "\.\." components/],
    ['/', /cannot mount over the container's root/],
    ['//./', /cannot mount over the container's root/],
    ['/a\0b', /contains a NUL byte/],
  ];
  for (const [path, re] of cases) assert.throws(() => checkContainerPath(path), invalid(re), path);
  assert.equal(checkContainerPath('/a/./b//c/'), '/a/b/c');
  assert.throws(
    () => withBindMount('relative/dir', '/x'),
    invalid(/bind source "relative\/dir": must be an absolute path/),
  );
  assert.throws(() => withBindMount('', '/x'), invalid(/bind source: must not be empty/));
  assert.throws(() => withBindMount('/x', '/a/../b'), invalid(/\.\./));
  assert.throws(
    () => withMounts([{ destination: 'tmp', type: 'tmpfs' }]),
    invalid(/must be an absolute path/),
  );
});
