// Spec options for what a pod sets on its containers (types.ts PodSettings), applied after the CLI's
// options, in the order containerd's CRI plugin applies them (internal/cri/opts/spec_linux.go):
// namespaces joined, cgroup parent, mounts, devices, sysctls, masked/read-only paths, then the late
// options: the seccomp choice (after the default profile) and the resource overrides.

import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { InvalidArgumentError, isErrno, NotFoundError } from '../errdefs/index.ts';
import { type Seccomp, validateSpec } from '../oci/runtime/index.ts';
import {
  isPrivileged,
  late,
  linuxOf,
  processOf,
  resourcesOf,
  type SpecOpt,
  withAnnotations,
  withHostNamespace,
  withMounts,
  withNamespacePath,
} from '../spec/index.ts';
import type { PodSettings, SeccompChoice } from './types.ts';

/** A seccomp profile file is read whole: refuse anything larger than a profile can sensibly be. */
const MAX_SECCOMP_PROFILE = 1024 * 1024;

export function podOpts(p: PodSettings, hostOomScoreAdj: number): SpecOpt[] {
  const opts: SpecOpt[] = [];
  for (const ns of p.namespaces ?? []) {
    opts.push(ns.path === undefined ? withHostNamespace(ns.type) : withNamespacePath(ns.type, ns.path));
  }
  if (p.annotations !== undefined) opts.push(withAnnotations(p.annotations));
  if (p.mounts !== undefined && p.mounts.length > 0) opts.push(withMounts(p.mounts));
  opts.push((spec) => {
    const linux = linuxOf(spec);
    if (p.devices !== undefined && p.devices.length > 0) {
      linux.devices = [...(linux.devices ?? []), ...p.devices];
      // The device cgroup must let the container use the nodes it is given.
      resourcesOf(spec).devices = [
        ...(resourcesOf(spec).devices ?? []),
        ...p.devices.map((d) => ({
          allow: true,
          type: d.type,
          major: d.major,
          minor: d.minor,
          access: 'rwm',
        })),
      ];
    }
    if (p.sysctls !== undefined) linux.sysctl = { ...linux.sysctl, ...p.sysctls };
    // A shared or slave mount needs the rootfs to propagate too, or runc's default (rslave, then
    // private below it) cuts it off (containerd's CRI plugin sets the same).
    const options = (p.mounts ?? []).flatMap((m) => m.options ?? []);
    if (options.includes('rshared')) linux.rootfsPropagation = 'shared';
    else if (options.includes('rslave') && linux.rootfsPropagation === undefined)
      linux.rootfsPropagation = 'slave';
    if (p.maskedPaths !== undefined) linux.maskedPaths = [...p.maskedPaths];
    if (p.readonlyPaths !== undefined) linux.readonlyPaths = [...p.readonlyPaths];
    const process = processOf(spec);
    if (p.noNewPrivileges !== undefined) process.noNewPrivileges = p.noNewPrivileges;
    if (p.supplementalGroups !== undefined && p.supplementalGroups.length > 0) {
      const groups = new Set([...(process.user.additionalGids ?? []), ...p.supplementalGroups]);
      process.user.additionalGids = [...groups];
    }
    if (p.oomScoreAdj !== undefined) {
      // Lowering oom_score_adj below berth's own needs CAP_SYS_RESOURCE, which root lacks on these
      // hosts (issue 4, host quirks): clamp, as containerd's restrict_oom_score_adj does.
      process.oomScoreAdj = Math.min(1000, Math.max(p.oomScoreAdj, hostOomScoreAdj));
    }
  });
  if (p.seccomp !== undefined) opts.push(withSeccompChoice(p.seccomp));
  if (p.resources !== undefined) {
    const r = p.resources;
    opts.push(
      late((spec) => {
        const res = resourcesOf(spec);
        if (r.memory !== undefined) res.memory = { ...res.memory, ...r.memory };
        if (r.cpu !== undefined) res.cpu = { ...res.cpu, ...r.cpu };
        if (r.pids !== undefined) res.pids = r.pids;
        if (r.hugepageLimits !== undefined) res.hugepageLimits = r.hugepageLimits;
        if (r.unified !== undefined) res.unified = { ...res.unified, ...r.unified };
      }),
    );
  }
  return opts;
}

/** The cgroup path of container `id` under a pod's parent (cgroupfs form, config-linux.md). */
export function podCgroupsPath(parent: string, id: string): string {
  const path = posix.join(parent, id);
  if (!parent.startsWith('/') || parent.split('/').includes('..')) {
    throw new InvalidArgumentError(`cgroup parent ${JSON.stringify(parent)}: must be absolute, without ".."`);
  }
  return path;
}

function withSeccompChoice(choice: SeccompChoice): SpecOpt {
  // Late, and after withDefaultSeccomp (defaults come first in the option list), so it wins.
  return late((spec) => {
    const linux = linuxOf(spec);
    if (isPrivileged(spec)) return; // privileged runs without a filter whatever was asked (CRI)
    switch (choice.kind) {
      case 'runtime-default':
        return;
      case 'unconfined':
        delete linux.seccomp;
        return;
      case 'profile':
        linux.seccomp = choice.seccomp;
        return;
      case 'localhost':
        linux.seccomp = readSeccompProfile(choice.path);
    }
  });
}

/** A seccomp profile file in runtime-spec form (what CRI `localhost/<path>` names). */
export function readSeccompProfile(path: string): Seccomp {
  if (!path.startsWith('/'))
    throw new InvalidArgumentError(`seccomp profile ${JSON.stringify(path)}: must be absolute`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT'))
      throw new NotFoundError(`seccomp profile ${path}: no such file`, { cause: err });
    throw err;
  }
  if (text.length > MAX_SECCOMP_PROFILE) {
    throw new InvalidArgumentError(`seccomp profile ${path}: larger than ${MAX_SECCOMP_PROFILE} bytes`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`seccomp profile ${path}: not JSON`, { cause: err });
  }
  // Checked as part of a minimal spec, by the one runtime-spec validator.
  const spec = validateSpec(
    { ociVersion: '1.1.0', root: { path: 'rootfs' }, linux: { seccomp: doc } },
    `seccomp profile ${path}`,
  );
  return spec.linux!.seccomp!;
}
