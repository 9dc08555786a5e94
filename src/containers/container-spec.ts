// A container's runtime-spec from its record: containerd's defaults, the image config with the
// request's overrides (docker's rules, spec/image-config.ts), then the request's options in the order
// containerd's CRI and nerdctl apply them. The rootfs must be mounted: users are looked up in its
// /etc/passwd and /etc/group, and a missing working directory is created in it (docker does, and
// runc and crun disagree on whether they do).

import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Mount, Spec } from '../oci/runtime/index.ts';
import {
  defaultOpts,
  generateSpec,
  linuxOf,
  processOf,
  resolveInRoot,
  type SpecContext,
  type SpecOpt,
  withCapabilities,
  withCPUs,
  withHostNamespace,
  withHostname,
  withImageConfig,
  withMemoryLimit,
  withMounts,
  withPidsLimit,
  withPrivileged,
  withReadonlyRootfs,
  withTTY,
} from '../spec/index.ts';
import { hostFacts } from './host-facts.ts';
import { podCgroupsPath, podOpts } from './pod-opts.ts';
import type { ContainerRecord } from './types.ts';

/** The cgroup prefix of containers the CLI makes: `/berth/<id>` (cgroups CGROUP_PARENT). */
export const CGROUP_NAMESPACE = 'berth';

/** `--hostname`, else the host's name with `--net host` (as docker does), else the short id. */
export function hostnameOf(record: ContainerRecord): string {
  if (record.request.hostname !== undefined) return record.request.hostname;
  return record.request.network === 'host' ? hostname() : record.id.slice(0, 12);
}

export function specOpts(record: ContainerRecord, mounts: readonly Mount[]): SpecOpt[] {
  const r = record.request;
  const opts: SpecOpt[] = [
    ...defaultOpts(),
    withImageConfig(record.image.config, {
      ...(r.args === undefined ? {} : { args: r.args }),
      ...(r.entrypoint === undefined ? {} : { entrypoint: r.entrypoint }),
      ...(r.env === undefined ? {} : { env: r.env }),
      ...(r.workingDir === undefined ? {} : { workingDir: r.workingDir }),
      ...(r.user === undefined ? {} : { user: r.user }),
    }),
    withHostname(hostnameOf(record)),
    withMounts(mounts),
  ];
  if (r.network === 'host') opts.push(withHostNamespace('network'));
  if (r.tty === true) opts.push(withTTY());
  // No swap beyond the limit (`--memory-swap` = `--memory`): an over-limit container is OOM-killed
  // rather than pushed to swap, which is what a person setting --memory means and what tests assert.
  if (r.memory !== undefined) opts.push(withMemoryLimit(r.memory, r.memory));
  if (r.cpus !== undefined) opts.push(withCPUs(r.cpus));
  if (r.pidsLimit !== undefined) opts.push(withPidsLimit(r.pidsLimit));
  if (r.readonlyRootfs === true) opts.push(withReadonlyRootfs());
  if ((r.capAdd?.length ?? 0) > 0 || (r.capDrop?.length ?? 0) > 0) {
    opts.push(withCapabilities({ add: r.capAdd ?? [], drop: r.capDrop ?? [] }));
  }
  if (r.privileged === true) opts.push(withPrivileged());
  if (r.pod !== undefined) {
    opts.push(...podOpts(r.pod, hostFacts().oomScoreAdj));
    const parent = r.pod.cgroupParent;
    if (parent !== undefined) {
      opts.push((spec) => {
        linuxOf(spec).cgroupsPath = podCgroupsPath(parent, record.id);
      });
    }
  }
  return opts;
}

/** Generates the spec for `record` with its rootfs mounted at `rootfs`, creating the working dir. */
export async function containerSpec(
  record: ContainerRecord,
  rootfs: string,
  mounts: readonly Mount[],
): Promise<Spec> {
  const facts = hostFacts();
  const ctx: SpecContext = {
    id: record.id,
    namespace: CGROUP_NAMESPACE,
    rootfs,
    rlimitHardMax: facts.rlimitHardMax,
    hostCapabilities: facts.capabilities,
  };
  const spec = await generateSpec(specOpts(record, mounts), ctx);
  const cwd = processOf(spec).cwd;
  // resolveInRoot keeps symlinks inside the rootfs, so an image cannot make berth create a
  // directory on the host through a WorkingDir that leads out.
  if (cwd !== '/') mkdirSync(resolveInRoot(rootfs, cwd), { recursive: true, mode: 0o755 });
  return spec;
}
