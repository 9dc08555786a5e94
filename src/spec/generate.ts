// Spec generation: a skeleton document, then each SpecOpt in turn (containerd pkg/oci/spec.go
// GenerateSpec + ApplyOpts). The result is validated before it is returned, so a bug in an option
// shows up here, naming the field, rather than as a runtime's error at create.

import {
  type Linux,
  OCI_RUNTIME_VERSION,
  type Process,
  type Resources,
  type Spec,
  validateSpec,
} from '../oci/runtime/index.ts';
import type { SpecContext, SpecOpt } from './types.ts';

/** The smallest valid Linux spec: rootfs at `rootfs` (the bundle's), root user, cwd `/`. */
export function emptySpec(): Spec {
  return {
    ociVersion: OCI_RUNTIME_VERSION,
    root: { path: 'rootfs' },
    process: { user: { uid: 0, gid: 0 }, cwd: '/' },
    linux: {},
  };
}

/** Marks an option to run after all unmarked ones (see SpecOpt). */
export function late(opt: (spec: Spec, ctx: SpecContext) => void | Promise<void>): SpecOpt {
  return Object.assign(opt, { late: true });
}

/** Builds a spec from `emptySpec()` and the options; throws the first option's error. */
export async function generateSpec(opts: readonly SpecOpt[], ctx: SpecContext): Promise<Spec> {
  const spec = emptySpec();
  for (const opt of opts.filter((o) => o.late !== true)) await opt(spec, ctx);
  for (const opt of opts.filter((o) => o.late === true)) await opt(spec, ctx);
  return validateSpec(spec, `generated spec for container ${JSON.stringify(ctx.id)}`);
}

/** The process section, created if absent (containerd's setProcess). */
export function processOf(spec: Spec): Process {
  spec.process ??= { user: { uid: 0, gid: 0 }, cwd: '/' };
  return spec.process;
}

export function linuxOf(spec: Spec): Linux {
  spec.linux ??= {};
  return spec.linux;
}

export function resourcesOf(spec: Spec): Resources {
  const linux = linuxOf(spec);
  linux.resources ??= {};
  return linux.resources;
}
