// Pod sysctl validation: namespaced sysctls only (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*,
// net.*), none of a namespace the pod shares with the host, and values without separators
// (CVE-2022-0811: `+` in a value made CRI-O's pinns set kernel.core_pattern on the host).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../src/errdefs/index.ts';
import { sysctlNamespace, validateSysctls, withSysctls } from '../../src/pods/index.ts';
import { defaultOpts, generateSpec } from '../../src/spec/index.ts';

const pod = { hostNetwork: false, hostIpc: false };
const refuses = (sysctls: Record<string, string>, re: RegExp, ctx = pod) =>
  assert.throws(
    () => validateSysctls(sysctls, ctx),
    (err: unknown) => err instanceof InvalidArgumentError && re.test(err.message),
    JSON.stringify(sysctls),
  );

test('namespaced sysctls are accepted, in dotted and slash form', () => {
  const ok = {
    'kernel.shm_rmid_forced': '1',
    'kernel.shmmax': '68719476736',
    'kernel.msgmax': '65536',
    'kernel.sem': '250 32000 100 128',
    'fs.mqueue.msg_max': '10',
    'net.ipv4.ip_local_port_range': '32768\t60999',
    'net.core.somaxconn': '1024',
    'net/ipv4/conf/eth0.100/forwarding': '1',
  };
  assert.deepEqual(validateSysctls(ok, pod), ok);
  assert.equal(sysctlNamespace('kernel.sem'), 'ipc');
  assert.equal(sysctlNamespace('fs/mqueue/queues_max'), 'ipc');
  assert.equal(sysctlNamespace('net.ipv4.tcp_syncookies'), 'net');
  assert.equal(sysctlNamespace('kernel.hostname'), undefined);
});

test('node-wide sysctls are refused', () => {
  for (const name of [
    'kernel.core_pattern',
    'kernel.hostname',
    'vm.overcommit_memory',
    'fs.file-max',
    'kernel.semx',
    'kernel.sem.x',
    'fs.mqueue',
    'netfilter.x',
  ]) {
    refuses({ [name]: '1' }, /not namespaced/);
  }
});

test('malformed names are refused', () => {
  for (const name of [
    '',
    'net..ipv4',
    '.net.ipv4',
    'net.ipv4.',
    'NET.ipv4.x',
    'net.ipv4.a b',
    'net.ipv4.x=1',
    `net.${'a'.repeat(260)}`,
  ]) {
    refuses({ [name]: '1' }, /not a sysctl name/);
  }
});

test('values with separators or control characters are refused (CVE-2022-0811)', () => {
  for (const value of [
    '1+kernel.core_pattern=|/tmp/x',
    '1=2',
    '1,2',
    '1;2',
    '1\n2',
    '1\r',
    'a\0',
    '\x1b[0m',
    '',
  ]) {
    refuses({ 'net.core.somaxconn': value }, /contains a separator|non-empty/);
  }
  refuses({ 'net.core.somaxconn': 'x'.repeat(4097) }, /at most 4096/);
});

test('a sysctl of a namespace shared with the host is refused', () => {
  refuses({ 'net.core.somaxconn': '1024' }, /host's network namespace/, {
    hostNetwork: true,
    hostIpc: false,
  });
  refuses({ 'kernel.shmmax': '1' }, /host's IPC namespace/, { hostNetwork: false, hostIpc: true });
  assert.deepEqual(validateSysctls({ 'kernel.shmmax': '1' }, { hostNetwork: true, hostIpc: false }), {
    'kernel.shmmax': '1',
  });
});

test('withSysctls sets linux.sysctl through the spec', async () => {
  const spec = await generateSpec(
    [
      ...defaultOpts(),
      withSysctls({ 'net.core.somaxconn': '1024' }),
      withSysctls({ 'kernel.sem': '1 2 3 4' }),
    ],
    { id: 'c' },
  );
  assert.deepEqual(spec.linux?.sysctl, { 'net.core.somaxconn': '1024', 'kernel.sem': '1 2 3 4' });
});
