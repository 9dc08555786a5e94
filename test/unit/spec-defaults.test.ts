// The default spec equals containerd's generic Linux spec (pkg/oci/spec.go populateDefaultUnixSpec,
// mounts.go, WithDefaultUnixDevices) as CRI uses it; `berth oci spec` prints it and it validates.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { validateSpec } from '../../src/oci/runtime/index.ts';
import { defaultSpec, generateSpec, withDefaults, withRlimit } from '../../src/spec/index.ts';

const repo = new URL('../..', import.meta.url).pathname;
const ctx = { id: 'c1' };

test('capabilities are containerd defaultUnixCaps in bounding, effective and permitted only', async () => {
  const caps = [
    'CAP_CHOWN',
    'CAP_DAC_OVERRIDE',
    'CAP_FSETID',
    'CAP_FOWNER',
    'CAP_MKNOD',
    'CAP_NET_RAW',
    'CAP_SETGID',
    'CAP_SETUID',
    'CAP_SETFCAP',
    'CAP_SETPCAP',
    'CAP_NET_BIND_SERVICE',
    'CAP_SYS_CHROOT',
    'CAP_KILL',
    'CAP_AUDIT_WRITE',
  ];
  const s = await defaultSpec(ctx);
  assert.deepEqual(s.process?.capabilities, { bounding: caps, effective: caps, permitted: caps });
  assert.equal(s.process?.noNewPrivileges, true);
  assert.deepEqual(s.process?.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }]);
  assert.deepEqual(s.process?.user, { uid: 0, gid: 0 });
  assert.equal(s.process?.cwd, '/');
});

test('masked and read-only paths are containerd lists, in order', async () => {
  const s = await defaultSpec(ctx);
  assert.deepEqual(s.linux?.maskedPaths, [
    '/proc/acpi',
    '/proc/asound',
    '/proc/kcore',
    '/proc/keys',
    '/proc/latency_stats',
    '/proc/timer_list',
    '/proc/timer_stats',
    '/proc/sched_debug',
    '/sys/firmware',
    '/sys/devices/virtual/powercap',
    '/proc/scsi',
  ]);
  assert.deepEqual(s.linux?.readonlyPaths, [
    '/proc/bus',
    '/proc/fs',
    '/proc/irq',
    '/proc/sys',
    '/proc/sysrq-trigger',
  ]);
});

test('namespaces, cgroup path, mounts and device rules', async () => {
  const s = await defaultSpec({ id: 'c1', namespace: 'k8s' });
  assert.deepEqual(
    s.linux?.namespaces?.map((n) => n.type),
    ['pid', 'ipc', 'uts', 'mount', 'network'],
  );
  assert.equal(s.linux?.cgroupsPath, '/k8s/c1');
  assert.deepEqual(
    s.mounts?.map((m) => [m.destination, m.type, m.source, (m.options ?? []).join(',')]),
    [
      ['/proc', 'proc', 'proc', 'nosuid,noexec,nodev'],
      ['/dev', 'tmpfs', 'tmpfs', 'nosuid,strictatime,mode=755,size=65536k'],
      ['/dev/pts', 'devpts', 'devpts', 'nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5'],
      ['/dev/shm', 'tmpfs', 'shm', 'nosuid,noexec,nodev,mode=1777,size=65536k'],
      ['/dev/mqueue', 'mqueue', 'mqueue', 'nosuid,noexec,nodev'],
      ['/sys', 'sysfs', 'sysfs', 'nosuid,noexec,nodev,ro'],
      ['/sys/fs/cgroup', 'cgroup', 'cgroup', 'nosuid,noexec,nodev,relatime,ro'],
    ],
  );
  const devices = s.linux?.resources?.devices ?? [];
  assert.deepEqual(devices[0], { allow: false, access: 'rwm' });
  assert.deepEqual(
    devices.slice(1).map((d) => `${d.type} ${d.major}:${d.minor ?? '*'} ${d.access} ${d.allow}`),
    ['c 1:3', 'c 1:8', 'c 1:7', 'c 5:0', 'c 1:5', 'c 1:9', 'c 5:1', 'c 136:*', 'c 5:2'].map(
      (d) => `${d} rwm true`,
    ),
  );
  assert.equal(s.root?.path, 'rootfs');
  assert.equal(s.linux?.seccomp?.defaultAction, 'SCMP_ACT_ERRNO');
});

test('RLIMIT_NOFILE is clamped to the host hard limit; withRlimit clamps too', async () => {
  const s = await generateSpec(
    [withDefaults(), withRlimit('nofile', 4096, 65536), withRlimit('RLIMIT_NPROC', 10, 20, 15)],
    {
      id: 'c',
      rlimitHardMax: { RLIMIT_NOFILE: 20000 },
    },
  );
  assert.deepEqual(s.process?.rlimits, [
    { type: 'RLIMIT_NOFILE', soft: 4096, hard: 20000 },
    { type: 'RLIMIT_NPROC', soft: 10, hard: 15 },
  ]);
  const low = await generateSpec([withDefaults()], { id: 'c', rlimitHardMax: { RLIMIT_NOFILE: 512 } });
  assert.deepEqual(low.process?.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 512 }]);
  assert.throws(() => withRlimit('nofile', 2, 1), /soft limit 2 is above the hard limit 1/);
});

test('berth oci spec prints JSON that validates and equals defaultSpec', async () => {
  const program = `
    import { Command } from 'commander';
    import { ociCommand } from ${JSON.stringify(new URL('../../src/cli/commands/oci.ts', import.meta.url).href)};
    const p = new Command('berth').exitOverride();
    p.addCommand(ociCommand(() => ({})));
    await p.parseAsync(process.argv.slice(1), { from: 'user' });
  `;
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', program, '--', 'oci', 'spec', '--id', 'c1'],
    {
      cwd: repo,
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\{\n {4}"ociVersion": "1\.1\.0",/);
  const printed = validateSpec(JSON.parse(r.stdout), 'berth oci spec');
  const expected = await defaultSpec(ctx);
  assert.deepEqual(printed.mounts, expected.mounts);
  assert.deepEqual(printed.process, expected.process);
  assert.equal(printed.linux?.cgroupsPath, '/berth/c1');
});
