// Resolving a seccomp profile (seccomp-profile.ts) into the runtime-spec's `linux.seccomp` for one
// container: the rules whose conditions hold for its bounding capabilities, architecture and kernel
// (moby profiles/seccomp/seccomp_linux.go setupSeccomp does the same with its includes/excludes).

import { arch as hostArch } from 'node:process';
import type { Seccomp, Syscall } from '../oci/runtime/index.ts';
import { late, linuxOf } from './generate.ts';
import { isPrivileged } from './privileged.ts';
import { DEFAULT_SECCOMP_PROFILE, type SeccompCondition, type SeccompProfile } from './seccomp-profile.ts';
import type { SpecOpt } from './types.ts';

export interface SeccompTarget {
  /** The container's bounding capabilities. */
  capabilities: readonly string[];
  /** Node's `process.arch` name. */
  arch: string;
  /** `os.release()`, e.g. `6.1.0-18-amd64`; when absent every minimum kernel is taken as met. */
  kernelRelease?: string;
}

/** True when `release` (`6.1.0-18-amd64`) is at least `min` (`4.8`). */
export function kernelAtLeast(release: string, min: string): boolean {
  const [a = 0, b = 0] = release.split(/[.-]/, 2).map((p) => Number.parseInt(p, 10) || 0);
  const [x = 0, y = 0] = min.split('.').map((p) => Number.parseInt(p, 10) || 0);
  return a > x || (a === x && b >= y);
}

function holdsAll(c: SeccompCondition | undefined, t: SeccompTarget): boolean {
  if (c === undefined) return true;
  if (c.caps !== undefined && !c.caps.every((cap) => t.capabilities.includes(cap))) return false;
  if (c.arches !== undefined && !c.arches.includes(t.arch)) return false;
  if (
    c.minKernel !== undefined &&
    t.kernelRelease !== undefined &&
    !kernelAtLeast(t.kernelRelease, c.minKernel)
  ) {
    return false;
  }
  return true;
}

function holdsAny(c: SeccompCondition | undefined, t: SeccompTarget): boolean {
  if (c === undefined) return false;
  if (c.caps?.some((cap) => t.capabilities.includes(cap))) return true;
  if (c.arches?.includes(t.arch)) return true;
  return (
    c.minKernel !== undefined &&
    (t.kernelRelease === undefined || kernelAtLeast(t.kernelRelease, c.minKernel))
  );
}

/** The `linux.seccomp` section `profile` gives a container described by `target`. */
export function resolveSeccomp(profile: SeccompProfile, target: SeccompTarget): Seccomp {
  const syscalls: Syscall[] = [];
  for (const rule of profile.rules) {
    if (!holdsAll(rule.includes, target) || holdsAny(rule.excludes, target)) continue;
    const out: Syscall = { names: [...rule.names], action: rule.action };
    if (rule.errnoRet !== undefined) out.errnoRet = rule.errnoRet;
    if (rule.args !== undefined) out.args = rule.args.map((a) => ({ ...a }));
    syscalls.push(out);
  }
  return {
    defaultAction: profile.defaultAction,
    defaultErrnoRet: profile.defaultErrnoRet,
    // An architecture without an entry gets none: libseccomp then filters the native ABI only.
    architectures: [...(profile.archMap[target.arch] ?? [])],
    syscalls,
  };
}

/**
 * Sets the default seccomp profile (or `profile`) for the final bounding set. It runs late, after
 * every capability option; a privileged container gets none, as with containerd's WithPrivileged.
 */
export function withDefaultSeccomp(profile: SeccompProfile = DEFAULT_SECCOMP_PROFILE): SpecOpt {
  return late((spec, ctx) => {
    if (isPrivileged(spec)) return;
    const target: SeccompTarget = {
      capabilities: spec.process?.capabilities?.bounding ?? [],
      arch: ctx.arch ?? hostArch,
    };
    if (ctx.kernelRelease !== undefined) target.kernelRelease = ctx.kernelRelease;
    linuxOf(spec).seccomp = resolveSeccomp(profile, target);
  });
}
