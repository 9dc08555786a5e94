// The spec generator's public types: composable options in the style of containerd's SpecOpts
// (pkg/oci/spec_opts.go), each a function that edits a runtime-spec document in place. Other
// layer-3 folders (runtime, shim) import only this file, so the runtime-spec types are re-exported.

import type { Spec } from '../oci/runtime/index.ts';

export type {
  Capabilities,
  Mount,
  Namespace,
  NamespaceType,
  Process,
  Resources,
  Rlimit,
  Spec,
  State,
} from '../oci/runtime/index.ts';

/** What the options may need to know about the container and the host; nothing here is edited. */
export interface SpecContext {
  /** The container's id; with `namespace` it names the cgroup, `/<namespace>/<id>` as containerd does. */
  id: string;
  /** The cgroup namespace-like prefix; `berth` when absent. */
  namespace?: string;
  /**
   * The host path of the container's root filesystem, mounted. Needed by `withUser` to read
   * /etc/passwd and /etc/group; without it only numeric `uid[:gid]` users can be set.
   */
  rootfs?: string;
  /**
   * The host's hard limits by rlimit type (`RLIMIT_NOFILE` → 20000), as /proc/self/limits shows
   * them. Root on these machines lacks CAP_SYS_RESOURCE and cannot raise a hard limit, so rlimits
   * asked for above these are clamped instead of failing at create (issue 4, host quirks).
   */
  rlimitHardMax?: Record<string, number>;
  /**
   * The capabilities berth itself holds: a privileged container gets these, as containerd's
   * WithAllCurrentCapabilities does. All capabilities known to Linux 5.9+ when absent.
   */
  hostCapabilities?: string[];
  /** The architecture in Node's `process.arch` terms, for the seccomp profile; this host's when absent. */
  arch?: string;
  /** The kernel release (`os.release()`), for seccomp rules with a minimum kernel; assumed new enough when absent. */
  kernelRelease?: string;
}

/**
 * One step of spec generation. Options run in the order given, except those marked `late`, which
 * run after all others (in their own order): the seccomp profile depends on the final capability
 * set, and `--privileged` overrides capability and path options whatever their position.
 */
export type SpecOpt = ((spec: Spec, ctx: SpecContext) => void | Promise<void>) & { readonly late?: boolean };
