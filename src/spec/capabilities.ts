// Capability names and `--cap-add/--cap-drop`, with Docker's rules (moby oci/caps/utils.go
// TweakCapabilities): names may be given with or without `CAP_`, in any case; `ALL` added means
// every capability but those dropped; `ALL` dropped means only those added; otherwise the current
// set minus the dropped plus the added. Inheritable and ambient sets are left empty, as Docker does
// since CVE-2022-24769 (an inheritable set let execve of a file with caps regain them).

import { InvalidArgumentError } from '../errdefs/index.ts';
import type { Process } from '../oci/runtime/index.ts';
import { processOf } from './generate.ts';
import type { SpecOpt } from './types.ts';

/** Every capability Linux 5.9 knows, in bit order (capability.h; containerd pkg/cap Known()). */
export const KNOWN_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** `net_admin`, `NET_ADMIN` or `CAP_NET_ADMIN` → `CAP_NET_ADMIN`; `all` → `ALL`; unknown names throw. */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL' || upper === 'CAP_ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!KNOWN_CAPABILITIES.includes(full)) {
    throw new InvalidArgumentError(`capability ${JSON.stringify(name)}: unknown capability`, {
      hint: 'names are those of capabilities(7), such as NET_ADMIN or CAP_SYS_PTRACE',
    });
  }
  return full;
}

export interface CapabilityChanges {
  add?: readonly string[];
  drop?: readonly string[];
}

/** The capability set after Docker's add/drop rules, starting from `current`. */
export function tweakCapabilities(
  current: readonly string[],
  changes: CapabilityChanges,
  all: readonly string[] = KNOWN_CAPABILITIES,
): string[] {
  const add = (changes.add ?? []).map(normalizeCapability);
  const drop = (changes.drop ?? []).map(normalizeCapability);
  if (add.includes('ALL')) return all.filter((c) => !drop.includes(c));
  if (drop.includes('ALL')) return [...new Set(add)];
  const out = current.filter((c) => !drop.includes(c));
  for (const c of add) if (!out.includes(c)) out.push(c);
  return out;
}

/** Sets bounding, effective and permitted to exactly `caps`; inheritable and ambient empty. */
export function setCapabilities(process: Process, caps: readonly string[]): void {
  process.capabilities = { bounding: [...caps], effective: [...caps], permitted: [...caps] };
}

/** `--cap-add` / `--cap-drop`, applied to the current bounding set (the defaults, normally). */
export function withCapabilities(changes: CapabilityChanges): SpecOpt {
  return (spec, ctx) => {
    const process = processOf(spec);
    // `ALL` means all the caller holds (root here lacks CAP_SYS_RESOURCE: asking for it fails create).
    const all = ctx.hostCapabilities ?? KNOWN_CAPABILITIES;
    setCapabilities(process, tweakCapabilities(process.capabilities?.bounding ?? [], changes, all));
  };
}
