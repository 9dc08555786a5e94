// The runtime driver's pure parts: argv builders (runc(8) command line), error classification on the
// real texts of runc 1.1.5 and crun 1.8.1, and the crun hybrid-cgroup wrapper decision.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../src/errdefs/index.ts';
import type { MountInfo } from '../../src/mount/index.ts';
import {
  classifyFailure,
  commandLine,
  createArgs,
  crunRefusesHybrid,
  deleteArgs,
  execArgs,
  featuresArgs,
  hideUnifiedWrapper,
  invocationOf,
  killArgs,
  logMessages,
  psArgs,
  type RuntimeConfig,
  runtimeError,
  startArgs,
  stateArgs,
  updateArgs,
} from '../../src/runtime/index.ts';

const runc: RuntimeConfig = {
  name: 'runc',
  binary: '/usr/sbin/runc',
  root: '/run/berth/r',
  logFile: '/run/berth/l.json',
  wrapper: [],
};

test('global flags: berth root, JSON log, no --systemd-cgroup', () => {
  assert.deepEqual(invocationOf(runc), {
    path: '/usr/sbin/runc',
    args: ['--root', '/run/berth/r', '--log', '/run/berth/l.json', '--log-format', 'json'],
  });
  assert.deepEqual(commandLine(runc, startArgs('c1')).args.slice(-2), ['start', 'c1']);
});

test('the hybrid wrapper runs crun through unshare with the cgroup2 mount removed', () => {
  const crun = { ...runc, name: 'crun' as const, binary: '/usr/bin/crun', wrapper: hideUnifiedWrapper() };
  const inv = commandLine(crun, stateArgs('c1'));
  assert.equal(inv.path, '/usr/bin/unshare');
  assert.deepEqual(inv.args.slice(0, 7), [
    '--mount',
    '--propagation',
    'unchanged',
    '--',
    '/bin/sh',
    '-c',
    'mount --make-rslave /sys/fs/cgroup && umount /sys/fs/cgroup/unified && exec "$0" "$@"',
  ]);
  assert.deepEqual(inv.args.slice(7), [
    '/usr/bin/crun',
    '--root',
    '/run/berth/r',
    '--log',
    '/run/berth/l.json',
    '--log-format',
    'json',
    'state',
    'c1',
  ]);
});

test('sub-command argv', () => {
  assert.deepEqual(createArgs('c1', '/b', { pidFile: '/p' }), [
    'create',
    '--bundle',
    '/b',
    '--pid-file',
    '/p',
    'c1',
  ]);
  assert.deepEqual(createArgs('c1', '/b', { pidFile: '/p', consoleSocket: '/s', noPivot: true }), [
    'create',
    '--bundle',
    '/b',
    '--pid-file',
    '/p',
    '--console-socket',
    '/s',
    '--no-pivot',
    'c1',
  ]);
  assert.deepEqual(killArgs('c1', 'TERM'), ['kill', 'c1', 'TERM']);
  assert.deepEqual(killArgs('c1', 'SIGKILL', true), ['kill', '--all', 'c1', 'SIGKILL']);
  assert.deepEqual(killArgs('c1', '9'), ['kill', 'c1', '9']);
  assert.deepEqual(deleteArgs('c1', true), ['delete', '--force', 'c1']);
  assert.deepEqual(deleteArgs('c1'), ['delete', 'c1']);
  assert.deepEqual(execArgs('c1', '/proc.json', { detach: true, pidFile: '/p', tty: false }), [
    'exec',
    '--process',
    '/proc.json',
    '--pid-file',
    '/p',
    '--detach',
    'c1',
  ]);
  assert.deepEqual(
    execArgs('c1', '/x', { detach: false, pidFile: '/p', tty: true, consoleSocket: '/s' }).slice(5),
    ['--tty', '--console-socket', '/s', 'c1'],
  );
  assert.throws(() => execArgs('c1', '/x', { detach: true, pidFile: '/p', tty: true }), InvalidArgumentError);
  assert.deepEqual(updateArgs('c1', '/r.json'), ['update', '--resources', '/r.json', 'c1']);
  assert.deepEqual(psArgs('c1'), ['ps', '--format', 'json', 'c1']);
  assert.deepEqual(featuresArgs(), ['features']);
});

test('ids and signals that could be read as flags are refused', () => {
  for (const id of ['-rf', '', '../x', 'a/b', 'a b', '..'])
    assert.throws(() => startArgs(id), InvalidArgumentError, id);
  for (const sig of ['-9', 'TERM;', 'kill', ''])
    assert.throws(() => killArgs('c1', sig), InvalidArgumentError, sig);
  assert.deepEqual(killArgs('c1', 'RTMIN+3'), ['kill', 'c1', 'RTMIN+3']);
});

test('runtime messages are classified', () => {
  assert.equal(classifyFailure('container does not exist'), 'not-found');
  assert.equal(classifyFailure('error opening file `/r/c1/status`: No such file or directory'), 'not-found');
  assert.equal(classifyFailure("cannot open directory '/r/c1': No such file or directory"), 'not-found');
  assert.equal(classifyFailure('container not running'), 'not-running');
  assert.equal(classifyFailure('kill container: No such process'), 'not-running');
  assert.equal(
    classifyFailure('runc create failed: container with given ID already exists'),
    'already-exists',
  );
  assert.equal(classifyFailure('container `c1` already exists'), 'already-exists');
  assert.equal(classifyFailure('cannot start an already running container'), 'wrong-state');
  assert.equal(classifyFailure('cannot open `/r/c1/exec.fifo`: No such file or directory'), 'wrong-state');
  assert.equal(classifyFailure('something else'), 'other');
});

test('errors carry the runtime, operation, id, stderr and log', () => {
  const result = { code: 1, signal: null, stdout: '', stderr: 'container does not exist\n' };
  const err = runtimeError({
    runtime: 'runc',
    op: 'state',
    id: 'c1',
    result,
    log: ['container does not exist'],
  });
  assert.equal(err.code, 'NotFound');
  assert.equal(err.message, 'runc state c1: no such container: container does not exist');
  const unknown = runtimeError({
    runtime: 'crun',
    op: 'features',
    id: undefined,
    result: { ...result, stderr: 'unknown command features' },
    log: [],
  });
  assert.equal(unknown.code, 'Unimplemented');
  const silent = runtimeError({
    runtime: 'runc',
    op: 'create',
    id: 'c1',
    result: { ...result, stderr: '' },
    log: ['runc create failed: bad'],
  });
  assert.equal(silent.code, 'Internal');
  assert.match(silent.message, /runc create c1 failed \(exit status 1\): runc create failed: bad/);
});

test('JSON log lines give their msg; other lines stay', () => {
  const text = '{"level":"error","msg":"container not running","time":"t"}\nplain text\n\n';
  assert.deepEqual(logMessages(text), ['container not running', 'plain text']);
});

const mount = (mountPoint: string, fsType: string): MountInfo => ({
  id: 1,
  parent: 0,
  mountPoint,
  fsType,
  source: fsType,
  options: 'rw',
});

test('crun refuses exactly the hybrid hosts with cgroup2 controllers', () => {
  const hybrid = [
    mount('/sys/fs/cgroup', 'tmpfs'),
    mount('/sys/fs/cgroup/memory', 'cgroup'),
    mount('/sys/fs/cgroup/unified', 'cgroup2'),
  ];
  assert.equal(crunRefusesHybrid(hybrid, 'hugetlb\n'), true);
  assert.equal(crunRefusesHybrid(hybrid, '\n'), false);
  assert.equal(crunRefusesHybrid([mount('/sys/fs/cgroup', 'cgroup2')], 'cpu memory\n'), false);
  assert.equal(crunRefusesHybrid(hybrid.slice(0, 2), ''), false);
});
