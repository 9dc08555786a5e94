// The default seccomp profile: an allowlist returning EPERM, with rules conditional on capability,
// architecture and kernel resolved per container (containerd contrib/seccomp, moby default.json).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Seccomp } from '../../src/oci/runtime/index.ts';
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_SECCOMP_PROFILE,
  defaultOpts,
  generateSpec,
  kernelAtLeast,
  resolveSeccomp,
  withCapabilities,
} from '../../src/spec/index.ts';

const resolve = (
  capabilities: readonly string[] = DEFAULT_CAPABILITIES,
  arch = 'x64',
  kernelRelease?: string,
): Seccomp =>
  resolveSeccomp(
    DEFAULT_SECCOMP_PROFILE,
    kernelRelease === undefined ? { capabilities, arch } : { capabilities, arch, kernelRelease },
  );

/** Names allowed unconditionally (an ALLOW rule without argument filters). */
const allowed = (s: Seccomp): Set<string> =>
  new Set(
    (s.syscalls ?? [])
      .filter((r) => r.action === 'SCMP_ACT_ALLOW' && r.args === undefined)
      .flatMap((r) => r.names),
  );

test('default action is errno EPERM, architectures are x86_64 + compat ABIs, or aarch64 + arm', () => {
  const s = resolve();
  assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(s.defaultErrnoRet, 1);
  assert.deepEqual(s.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.deepEqual(resolve(DEFAULT_CAPABILITIES, 'arm64').architectures, [
    'SCMP_ARCH_AARCH64',
    'SCMP_ARCH_ARM',
  ]);
});

test('common syscalls are allowed; dangerous ones are not, without their capability', () => {
  const names = allowed(resolve());
  for (const n of [
    'read',
    'write',
    'execve',
    'openat',
    'mmap',
    'exit_group',
    'futex',
    'arch_prctl',
    'chroot',
  ]) {
    assert.ok(names.has(n), n);
  }
  for (const n of [
    'kexec_load',
    'kexec_file_load',
    'open_by_handle_at',
    'init_module',
    'finit_module',
    'delete_module',
    'mount',
    'umount2',
    'unshare',
    'setns',
    'bpf',
    'reboot',
    'swapon',
    'keyctl',
    'add_key',
    'userfaultfd',
    'clock_settime',
    'acct',
    'iopl',
    'clone',
    'clone3',
    'socket',
    'personality',
  ]) {
    assert.ok(!names.has(n), n);
  }
  assert.equal(names.size > 350, true);
});

test('clone is allowed without namespace flags; clone3 returns ENOSYS; socket and personality by argument', () => {
  const rules = resolve().syscalls ?? [];
  const clone = rules.filter((r) => r.names.includes('clone'));
  assert.deepEqual(clone, [
    {
      names: ['clone'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
    },
  ]);
  assert.deepEqual(
    rules.filter((r) => r.names.includes('clone3')),
    [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }],
  );
  assert.deepEqual(
    rules
      .filter((r) => r.names.includes('socket'))
      .map((r) => r.args?.map((a) => `${a.op} ${a.value}`).join()),
    ['SCMP_CMP_LT 38', 'SCMP_CMP_EQ 39', 'SCMP_CMP_GT 40'],
  );
  assert.deepEqual(
    rules.filter((r) => r.names.includes('personality')).map((r) => r.args?.[0]?.value),
    [0, 8, 0x20000, 0x20008, 0xffffffff],
  );
});

test('capabilities open their syscall groups (CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_DAC_READ_SEARCH, …)', () => {
  const admin = resolve([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']);
  const names = allowed(admin);
  for (const n of ['mount', 'umount2', 'unshare', 'setns', 'clone', 'clone3', 'bpf', 'sethostname'])
    assert.ok(names.has(n), n);
  // With CAP_SYS_ADMIN clone is allowed outright, so neither the argument rule nor ENOSYS appear.
  assert.equal(
    admin.syscalls?.filter((r) => r.names.includes('clone3') && r.action === 'SCMP_ACT_ERRNO').length,
    0,
  );
  assert.ok(allowed(resolve(['CAP_SYS_MODULE'])).has('init_module'));
  assert.ok(allowed(resolve(['CAP_DAC_READ_SEARCH'])).has('open_by_handle_at'));
  assert.ok(allowed(resolve(['CAP_SYS_TIME'])).has('clock_settime'));
  assert.ok(!allowed(resolve(['CAP_SYS_ADMIN'])).has('kexec_load')); // no capability opens kexec
});

test('architecture and kernel conditions', () => {
  assert.ok(!allowed(resolve(DEFAULT_CAPABILITIES, 'arm64')).has('arch_prctl'));
  assert.ok(allowed(resolve(DEFAULT_CAPABILITIES, 'arm64')).has('set_tls'));
  assert.ok(allowed(resolve(DEFAULT_CAPABILITIES, 'x64', '6.1.0-18-amd64')).has('ptrace'));
  assert.ok(!allowed(resolve(DEFAULT_CAPABILITIES, 'x64', '4.4.0')).has('ptrace'));
  assert.equal(kernelAtLeast('4.8.0', '4.8'), true);
  assert.equal(kernelAtLeast('4.10', '4.8'), true);
  assert.equal(kernelAtLeast('3.19.1', '4.8'), false);
});

test('the profile follows the final capability set, whatever the option order', async () => {
  const s = await generateSpec([...defaultOpts(), withCapabilities({ add: ['SYS_ADMIN'] })], {
    id: 'c',
    arch: 'x64',
  });
  assert.ok(allowed(s.linux?.seccomp as Seccomp).has('mount'));
});
