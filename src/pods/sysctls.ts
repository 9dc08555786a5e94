// Pod sysctls. Only namespaced ones are allowed (Kubernetes' "safe and unsafe sysctls" rule, kubelet
// pkg/kubelet/sysctl): those of the IPC namespace (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)
// and of the network namespace (net.*), and neither when the pod shares that namespace with the host,
// where a pod's sysctl would change the node. Values may not hold separators: CVE-2022-0811
// ("cr8escape") was CRI-O passing `key=value+key2=value2` to pinns, so a value with `+` set
// kernel.core_pattern on the host. berth hands sysctls to the runtime through the spec's
// `linux.sysctl` map, which has no separators to abuse, and refuses such values anyway so no later
// path (a helper, a log line, a shell) can be fooled by one.

import { InvalidArgumentError } from '../errdefs/index.ts';
import type { SpecOpt } from '../spec/index.ts';
import { linuxOf } from '../spec/index.ts';

// Kubernetes' SysctlSegmentFmt joined by `.` or `/` (the slash form allows dotted interface names:
// net/ipv4/conf/eth0.100/forwarding), at most 253 characters.
const nameRe = /^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$/;
const MAX_NAME = 253;
/** A sysctl value is at most a page; more is not a value any namespaced sysctl takes. */
const MAX_VALUE = 4096;
// Separators a sysctl list could be split on, line breaks and other control characters (tab and
// space are allowed: kernel.sem and net.ipv4.ip_local_port_range take space-separated numbers).
function hasBadChar(value: string): boolean {
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if ('+=,;'.includes(ch) || (c < 0x20 && ch !== '\t') || c === 0x7f) return true;
  }
  return false;
}

export type SysctlNamespace = 'ipc' | 'net';

/** The namespace a sysctl belongs to, or undefined when it is not namespaced (a node-wide sysctl). */
export function sysctlNamespace(name: string): SysctlNamespace | undefined {
  // In the slash form the separators are `/`; only the leading segments matter here.
  const dotted = name.includes('/') ? name.replaceAll('/', '.') : name;
  if (dotted === 'kernel.sem' || dotted.startsWith('kernel.shm') || dotted.startsWith('kernel.msg'))
    return 'ipc';
  if (dotted.startsWith('fs.mqueue.')) return 'ipc';
  if (dotted.startsWith('net.')) return 'net';
  return undefined;
}

export interface SysctlContext {
  hostNetwork: boolean;
  hostIpc: boolean;
}

/** Checks every sysctl of a pod; returns them unchanged, or throws InvalidArgument naming the first bad one. */
export function validateSysctls(sysctls: Record<string, string>, ctx: SysctlContext): Record<string, string> {
  for (const [name, value] of Object.entries(sysctls)) {
    const what = `sysctl ${JSON.stringify(name)}`;
    if (name.length > MAX_NAME || !nameRe.test(name)) {
      throw new InvalidArgumentError(`${what}: not a sysctl name (lowercase segments joined by . or /)`);
    }
    const ns = sysctlNamespace(name);
    if (ns === undefined) {
      throw new InvalidArgumentError(
        `${what}: not namespaced; a pod may set only kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* and net.*`,
      );
    }
    if (ns === 'net' && ctx.hostNetwork) {
      throw new InvalidArgumentError(
        `${what}: the pod uses the host's network namespace; setting it would change the node`,
      );
    }
    if (ns === 'ipc' && ctx.hostIpc) {
      throw new InvalidArgumentError(
        `${what}: the pod uses the host's IPC namespace; setting it would change the node`,
      );
    }
    if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_VALUE) {
      throw new InvalidArgumentError(
        `${what}: value must be a non-empty string of at most ${MAX_VALUE} characters`,
      );
    }
    if (hasBadChar(value)) {
      throw new InvalidArgumentError(
        `${what}: value ${JSON.stringify(value)} contains a separator or control character (+ = , ; or a line break)`,
      );
    }
  }
  return sysctls;
}

/** Adds the sysctls to the spec's `linux.sysctl`; the runtime writes them inside the joined namespaces. */
export function withSysctls(sysctls: Record<string, string>): SpecOpt {
  const checked = { ...sysctls };
  return (spec) => {
    const linux = linuxOf(spec);
    linux.sysctl = { ...linux.sysctl, ...checked };
  };
}
