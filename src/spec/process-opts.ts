// Small options on the process and the top of the spec (containerd pkg/oci/spec_opts.go:
// WithHostname, WithEnv, WithProcessArgs, WithProcessCwd, WithTTY, WithRootFSReadonly), plus
// rlimits clamped to what the host can grant.

import { InvalidArgumentError } from '../errdefs/index.ts';
import { processOf } from './generate.ts';
import { mergeEnv } from './image-config.ts';
import type { SpecOpt } from './types.ts';

// RFC 1123 host names as sethostname(2) takes them: at most 64 bytes (HOST_NAME_MAX), labels of
// letters, digits and hyphens. Docker checks the same shape before creating the container.
const hostname =
  /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function withHostname(name: string): SpecOpt {
  if (name.length > 64 || !hostname.test(name)) {
    throw new InvalidArgumentError(
      `hostname ${JSON.stringify(name)}: not a valid host name (RFC 1123, at most 64 characters)`,
    );
  }
  return (spec) => {
    spec.hostname = name;
  };
}

/** Sets or replaces variables by name; a bare `NAME` removes the variable. */
export function withEnv(env: readonly string[]): SpecOpt {
  return (spec) => {
    const process = processOf(spec);
    process.env = mergeEnv(process.env ?? [], env);
  };
}

export function withArgs(args: readonly string[]): SpecOpt {
  return (spec) => {
    processOf(spec).args = [...args];
  };
}

export function withCwd(cwd: string): SpecOpt {
  // config.md: process.cwd MUST be an absolute path.
  if (!cwd.startsWith('/'))
    throw new InvalidArgumentError(`working directory ${JSON.stringify(cwd)}: must be absolute`);
  return (spec) => {
    processOf(spec).cwd = cwd;
  };
}

/** A terminal for the process, TERM=xterm unless set (containerd WithTTY, Docker's `-t`). */
export function withTTY(size?: { width: number; height: number }): SpecOpt {
  return (spec) => {
    const process = processOf(spec);
    process.terminal = true;
    if (size !== undefined) process.consoleSize = { width: size.width, height: size.height };
    const env = process.env ?? [];
    if (!env.some((e) => e.startsWith('TERM='))) process.env = [...env, 'TERM=xterm'];
  };
}

export function withReadonlyRootfs(): SpecOpt {
  return (spec) => {
    spec.root = { path: spec.root?.path ?? 'rootfs', readonly: true };
  };
}

export function withAnnotations(annotations: Record<string, string>): SpecOpt {
  return (spec) => {
    spec.annotations = { ...spec.annotations, ...annotations };
  };
}

/**
 * Sets one rlimit (`RLIMIT_NOFILE` or `nofile`), replacing an entry of the same type. Both values
 * are clamped to `hardMax`, or to ctx.rlimitHardMax[type]: without CAP_SYS_RESOURCE the runtime's
 * setrlimit fails with EPERM above the current hard limit, and these hosts' root lacks it.
 */
export function withRlimit(type: string, soft: number, hard: number, hardMax?: number): SpecOpt {
  const name = type.toUpperCase().startsWith('RLIMIT_') ? type.toUpperCase() : `RLIMIT_${type.toUpperCase()}`;
  if (!/^RLIMIT_[A-Z]+$/.test(name))
    throw new InvalidArgumentError(`rlimit ${JSON.stringify(type)}: not a limit name`);
  for (const v of [soft, hard]) {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new InvalidArgumentError(`rlimit ${name}: ${v} is not a non-negative integer`);
  }
  if (soft > hard)
    throw new InvalidArgumentError(`rlimit ${name}: soft limit ${soft} is above the hard limit ${hard}`);
  return (spec, ctx) => {
    const max = hardMax ?? ctx.rlimitHardMax?.[name] ?? Number.POSITIVE_INFINITY;
    const limit = { type: name, soft: Math.min(soft, max), hard: Math.min(hard, max) };
    const process = processOf(spec);
    process.rlimits = [...(process.rlimits ?? []).filter((r) => r.type !== name), limit];
  };
}
