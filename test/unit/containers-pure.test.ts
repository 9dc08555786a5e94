// The pure parts of the container service and the run options: names, status text, host facts
// parsing, volume and size parsing, /etc files.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBytes } from '../../src/cli/container-options.ts';
import { ContainerCommandError, commandError } from '../../src/containers/errors.ts';
import {
  ago,
  type Container,
  checkContainerName,
  describeStatus,
  newContainerId,
  parseCapabilityMask,
  parseHardLimits,
  parseVolume,
  randomName,
  resolvConf,
  volumesFor,
} from '../../src/containers/index.ts';
import { hostsFile } from '../../src/spec/index.ts';

test('ids are 64 hex digits; random names are valid names', () => {
  assert.match(newContainerId(), /^[0-9a-f]{64}$/);
  for (let i = 0; i < 50; i++) assert.equal(checkContainerName(randomName()).length > 0, true);
});

test('container names follow docker: no slashes, no leading dot, not an id', () => {
  for (const ok of ['web', 'a.b_c-1', 'X9']) assert.equal(checkContainerName(ok), ok);
  for (const bad of ['', '-x', '.x', 'a/b', 'a b', '../x', 'é', 'x'.repeat(129), 'a'.repeat(64)]) {
    assert.throws(() => checkContainerName(bad), { code: 'InvalidArgument' }, bad);
  }
});

test('status text reads like docker ps', () => {
  const now = Date.parse('2026-11-25T10:00:00Z');
  const base = { startedAt: '2026-11-25T09:59:57Z', finishedAt: '2026-11-25T09:58:00Z' } as Container;
  assert.equal(describeStatus({ ...base, status: 'running' }, now), 'Up 3 seconds');
  assert.equal(
    describeStatus({ ...base, status: 'stopped', exitCode: 137, oomKilled: true }, now),
    'Exited (137) 2 minutes ago (OOMKilled)',
  );
  assert.equal(describeStatus({ ...base, status: 'created' }, now), 'Created');
  assert.equal(ago(500), 'Less than a second');
  assert.equal(ago(61_000), 'About a minute');
  assert.equal(ago(3 * 3600_000), '3 hours');
});

test('host facts: hard limits from /proc/self/limits, capabilities from a CapEff mask', () => {
  const limits = [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max open files            1024                 524288               files     ',
    'Max processes             95000                95000                processes ',
    'Max cpu time              unlimited            unlimited            seconds   ',
  ].join('\n');
  assert.deepEqual(parseHardLimits(limits), { RLIMIT_NOFILE: 524288, RLIMIT_NPROC: 95000 });
  const caps = parseCapabilityMask('000001fffeffffff');
  assert.ok(!caps.includes('CAP_SYS_RESOURCE'), 'bit 24 is clear on these machines');
  assert.ok(caps.includes('CAP_SYS_ADMIN') && caps.includes('CAP_CHOWN'));
  assert.deepEqual(parseCapabilityMask('5'), ['CAP_CHOWN', 'CAP_DAC_READ_SEARCH']);
});

test('volumes: binds, modes, anonymous volumes, and the image volumes not already bound', () => {
  assert.deepEqual(parseVolume('/srv:/data'), { source: '/srv', destination: '/data', readonly: false });
  assert.deepEqual(parseVolume('/srv:/data:ro'), { source: '/srv', destination: '/data', readonly: true });
  assert.deepEqual(parseVolume('/cache'), { destination: '/cache', readonly: false });
  for (const bad of ['', 'rel:/x', '/a:rel', '/a:/b:zz', '/a:/b/../c', '/a:/', '/a:/b:ro:x']) {
    assert.throws(() => parseVolume(bad), { code: 'InvalidArgument' }, bad);
  }
  assert.deepEqual(volumesFor([parseVolume('/srv:/data')], ['/data', '/logs/']), [
    { source: '/srv', destination: '/data', readonly: false },
    { destination: '/logs', readonly: false },
  ]);
  assert.throws(() => volumesFor([], ['../../etc']), { code: 'InvalidArgument' }, 'CVE-2022-23648 class');
});

test('sizes take docker suffixes', () => {
  assert.equal(parseBytes('1024', 'm'), 1024);
  assert.equal(parseBytes('64m', 'm'), 64 * 1024 * 1024);
  assert.equal(parseBytes('1g', 'm'), 1024 ** 3);
  assert.equal(parseBytes('1.5k', 'm'), 1536);
  assert.throws(() => parseBytes('lots', 'm'), { code: 'InvalidArgument' });
});

test('/etc files: hosts names the container; resolv.conf drops loopback nameservers off the host network', () => {
  assert.match(hostsFile('web'), /^127\.0\.1\.1\tweb$/m);
  const host = 'nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch example.org\n';
  assert.equal(resolvConf(host, 'none'), 'nameserver 10.0.0.2\nsearch example.org\n');
  assert.equal(resolvConf(host, 'host'), host);
});

test("runtime messages about the container's command become 127 / 126", () => {
  const runc = new Error(
    'exec failed: unable to start container process: exec: "nope": executable file not found in $PATH',
  );
  const crunMsg = new Error('executable file `nope` not found in $PATH: No such file or directory');
  for (const e of [runc, crunMsg]) {
    const out = commandError(e, 'c', ['nope']);
    assert.ok(out instanceof ContainerCommandError);
    assert.equal(out.exitCode, 127);
  }
  const denied = commandError(new Error('exec: "/etc/passwd": permission denied'), 'c', ['/etc/passwd']);
  assert.equal((denied as ContainerCommandError).exitCode, 126);
  const other = new Error('cgroup: no space left');
  assert.equal(commandError(other, 'c', ['x']), other);
});
