// containerd's generic Linux spec (pkg/oci/spec.go populateDefaultUnixSpec, pkg/oci/mounts.go
// defaultMounts, spec_opts.go WithDefaultUnixDevices), as the Kubernetes side of containerd uses
// it: CRI drops the `/run` tmpfs (internal/cri/server/container_create.go, oci.WithoutRunMount)
// so images keep their own /run, and mounts the cgroup filesystem read-only at /sys/fs/cgroup
// (internal/cri/opts/spec_linux_opts.go), as `runc spec` does too. With the default seccomp profile
// this is the spec `berth oci spec` prints and every container starts from.

import { posix } from 'node:path';
import type { DeviceCgroup, Mount, Namespace, Spec } from '../oci/runtime/index.ts';
import { generateSpec, linuxOf, processOf, resourcesOf } from './generate.ts';
import { withDefaultSeccomp } from './seccomp.ts';
import type { SpecContext, SpecOpt } from './types.ts';

/** containerd's defaultUnixCaps(), in its order; Docker's default set (moby oci/caps) is the same. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
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

/** containerd's defaultUnixNamespaces(): new pid, ipc, uts, mount and network namespaces. */
export const DEFAULT_NAMESPACES: readonly Namespace['type'][] = ['pid', 'ipc', 'uts', 'mount', 'network'];

/** populateDefaultUnixSpec's Linux.MaskedPaths: hidden under an empty read-only file or tmpfs. */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
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
];

/** populateDefaultUnixSpec's Linux.ReadonlyPaths: bind-mounted read-only over themselves. */
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function defaultMounts(): Mount[] {
  const m = (destination: string, type: string, source: string, ...options: string[]): Mount => ({
    destination,
    type,
    source,
    options,
  });
  return [
    m('/proc', 'proc', 'proc', 'nosuid', 'noexec', 'nodev'),
    m('/dev', 'tmpfs', 'tmpfs', 'nosuid', 'strictatime', 'mode=755', 'size=65536k'),
    m(
      '/dev/pts',
      'devpts',
      'devpts',
      'nosuid',
      'noexec',
      'newinstance',
      'ptmxmode=0666',
      'mode=0620',
      'gid=5',
    ),
    m('/dev/shm', 'tmpfs', 'shm', 'nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'),
    m('/dev/mqueue', 'mqueue', 'mqueue', 'nosuid', 'noexec', 'nodev'),
    m('/sys', 'sysfs', 'sysfs', 'nosuid', 'noexec', 'nodev', 'ro'),
    m('/sys/fs/cgroup', 'cgroup', 'cgroup', 'nosuid', 'noexec', 'nodev', 'relatime', 'ro'),
  ];
}

/**
 * The device cgroup: deny everything (populateDefaultUnixSpec), then allow the nodes every
 * container gets (WithDefaultUnixDevices): null, random, full, tty, zero, urandom, console, the
 * pty slaves (major 136) and ptmx. runc creates the nodes themselves (config-linux.md "Default
 * Devices"); these rules only let the container use them.
 */
export function defaultDeviceRules(): DeviceCgroup[] {
  const c = (major: number, minor?: number): DeviceCgroup =>
    minor === undefined
      ? { allow: true, type: 'c', major, access: 'rwm' }
      : { allow: true, type: 'c', major, minor, access: 'rwm' };
  return [
    { allow: false, access: 'rwm' },
    c(1, 3), // /dev/null
    c(1, 8), // /dev/random
    c(1, 7), // /dev/full
    c(5, 0), // /dev/tty
    c(1, 5), // /dev/zero
    c(1, 9), // /dev/urandom
    c(5, 1), // /dev/console
    c(136), // /dev/pts/*
    c(5, 2), // /dev/ptmx
  ];
}

/** The RLIMIT_NOFILE of containerd's default spec, 1024:1024. */
export const DEFAULT_NOFILE = 1024;

/** Replaces the spec's process, mounts and Linux section with containerd's defaults. */
export function withDefaults(): SpecOpt {
  return (spec, ctx) => {
    const process = processOf(spec);
    process.cwd = '/';
    process.user = { uid: 0, gid: 0 };
    process.noNewPrivileges = true;
    process.capabilities = {
      bounding: [...DEFAULT_CAPABILITIES],
      effective: [...DEFAULT_CAPABILITIES],
      permitted: [...DEFAULT_CAPABILITIES],
    };
    const nofile = Math.min(DEFAULT_NOFILE, ctx.rlimitHardMax?.RLIMIT_NOFILE ?? DEFAULT_NOFILE);
    process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: nofile, hard: nofile }];
    spec.root = { path: 'rootfs' };
    spec.mounts = defaultMounts();
    const linux = linuxOf(spec);
    linux.namespaces = DEFAULT_NAMESPACES.map((type) => ({ type }));
    linux.maskedPaths = [...DEFAULT_MASKED_PATHS];
    linux.readonlyPaths = [...DEFAULT_READONLY_PATHS];
    linux.cgroupsPath = posix.join('/', ctx.namespace ?? 'berth', ctx.id);
    resourcesOf(spec).devices = defaultDeviceRules();
  };
}

/** withDefaults() and withDefaultSeccomp(): the options every container's list begins with. */
export function defaultOpts(): SpecOpt[] {
  return [withDefaults(), withDefaultSeccomp()];
}

/** The default spec alone: what `ctr oci spec` prints, plus the seccomp profile CRI adds. */
export function defaultSpec(ctx: SpecContext): Promise<Spec> {
  return generateSpec(defaultOpts(), ctx);
}
