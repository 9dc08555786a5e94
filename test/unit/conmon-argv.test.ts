// conmon's pure parts: its argv (conmon 2.1.6 options), the sync-pipe messages, the cgroup layout
// detection and OOM decision used beside it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  containerCgroupsPath,
  detectCgroupHost,
  isOomKill,
  parseProcCgroups,
} from '../../src/cgroups/index.ts';
import { InternalError, InvalidArgumentError } from '../../src/errdefs/index.ts';
import { type ConmonSpec, conmonArgs, parseSyncMessage } from '../../src/shim/index.ts';

const spec: ConmonSpec = {
  id: 'c1',
  runtime: { path: '/usr/sbin/runc', args: ['--root', '/run/berth/runc'] },
  bundle: '/b',
  containerPidFile: '/s/ctr.pid',
  conmonPidFile: '/s/conmon.pid',
  logPath: '/l/c1.log',
  exitDir: '/s/exits',
  socketDir: '/s/sock',
};

test('conmon argv: api 1, ids, runtime and its args, files, k8s-file log', () => {
  assert.deepEqual(conmonArgs(spec), [
    '--api-version=1',
    '--cid=c1',
    '--cuuid=c1',
    '--name=c1',
    '--runtime=/usr/sbin/runc',
    '--runtime-arg=--root',
    '--runtime-arg=/run/berth/runc',
    '--bundle=/b',
    '--container-pidfile=/s/ctr.pid',
    '--conmon-pidfile=/s/conmon.pid',
    '--log-path=k8s-file:/l/c1.log',
    '--exit-dir=/s/exits',
    '--socket-dir-path=/s/sock',
  ]);
});

test('conmon argv: optional flags', () => {
  const args = conmonArgs({
    ...spec,
    uuid: 'u1',
    name: 'web',
    logSizeMax: 1024,
    persistDir: '/p',
    terminal: true,
    stdin: true,
    fullAttach: true,
    noPivot: true,
    logLevel: 'debug',
    exitCommand: { path: '/bin/berth', args: ['cleanup', 'c1'] },
    exitDelaySeconds: 2,
  });
  for (const a of [
    '--cuuid=u1',
    '--name=web',
    '--log-size-max=1024',
    '--persist-dir=/p',
    '--terminal',
    '--stdin',
    '--full-attach',
    '--no-pivot',
    '--log-level=debug',
    '--exit-command=/bin/berth',
    '--exit-command-arg=cleanup',
    '--exit-command-arg=c1',
    '--exit-delay=2',
  ]) {
    assert.ok(args.includes(a), a);
  }
  assert.ok(!args.some((a) => a.startsWith('--syslog') || a === '--systemd-cgroup' || a === '--sync'));
  assert.throws(() => conmonArgs({ ...spec, runtime: { path: 'runc', args: [] } }), InvalidArgumentError);
  assert.throws(() => conmonArgs({ ...spec, bundle: '/b\0x' }), InvalidArgumentError);
});

test('sync pipe messages', () => {
  assert.deepEqual(parseSyncMessage('{"data": 4242}'), { data: 4242 });
  assert.deepEqual(parseSyncMessage('{"data": -1, "message": "runc create failed: x\\n"}'), {
    data: -1,
    message: 'runc create failed: x\n',
  });
  assert.throws(() => parseSyncMessage('{"pid": 1}'), InternalError);
  assert.throws(() => parseSyncMessage('nope'), InternalError);
});

const hybridMountinfo = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');
const procCgroups =
  '#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\ncpuacct\t2\t1\t1\nmemory\t4\t23\t1\nhugetlb\t0\t1\t1\n';

test('cgroup layout: hybrid, v1, v2', () => {
  const controllers = parseProcCgroups(procCgroups);
  assert.deepEqual(controllers, ['cpu', 'cpuacct', 'memory', 'hugetlb']);
  assert.deepEqual(detectCgroupHost(hybridMountinfo, controllers), {
    layout: 'hybrid',
    v1: { cpu: '/sys/fs/cgroup/cpu', cpuacct: '/sys/fs/cgroup/cpuacct', memory: '/sys/fs/cgroup/memory' },
    unified: '/sys/fs/cgroup/unified',
  });
  const v1 = hybridMountinfo.split('\n').slice(0, -1).join('\n');
  assert.equal(detectCgroupHost(v1, controllers).layout, 'v1');
  const v2 = '30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate';
  assert.deepEqual(detectCgroupHost(v2, controllers), { layout: 'v2', v1: {}, unified: '/sys/fs/cgroup' });
  const combined = '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct';
  assert.deepEqual(detectCgroupHost(combined, controllers).v1, {
    cpu: '/sys/fs/cgroup/cpu,cpuacct',
    cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
  });
});

test('cgroups path and the OOM decision', () => {
  assert.equal(containerCgroupsPath('c1'), '/berth/c1');
  assert.throws(() => containerCgroupsPath('../x'), InvalidArgumentError);
  assert.equal(isOomKill(137, { oomKills: 1, limitHits: 9 }), true);
  assert.equal(isOomKill(137, { oomKills: 0, limitHits: 9 }), false);
  assert.equal(isOomKill(1, { oomKills: 1, limitHits: 0 }), false);
  assert.equal(isOomKill(137, { oomKills: 2, limitHits: 0 }, { oomKills: 2, limitHits: 0 }), false);
});
