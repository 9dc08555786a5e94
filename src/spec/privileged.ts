// `--privileged`, as containerd's WithPrivileged (pkg/oci/spec_opts.go) composes it with the
// device rules ctr and CRI add: every capability the caller holds, no seccomp filter, no masked or
// read-only paths, /sys and the cgroup filesystem writable, no AppArmor or SELinux label, and
// every device allowed by the device cgroup. It runs late, so that like Docker (moby
// daemon/oci_linux.go WithCapabilities) it overrides --cap-add/--cap-drop wherever they appear.
// Host device nodes (containerd WithHostDevices) are not added here: that needs a walk of the
// host's /dev, which belongs to the caller, not to this pure generator.

import type { Spec } from '../oci/runtime/index.ts';
import { KNOWN_CAPABILITIES, setCapabilities } from './capabilities.ts';
import { late, linuxOf, processOf, resourcesOf } from './generate.ts';
import type { SpecOpt } from './types.ts';

const privileged = new WeakSet<Spec>();

/** True once withPrivileged has run on `spec` (withDefaultSeccomp then sets no filter). */
export function isPrivileged(spec: Spec): boolean {
  return privileged.has(spec);
}

function writable(options: string[] | undefined): string[] | undefined {
  return options?.map((o) => (o === 'ro' ? 'rw' : o));
}

export function withPrivileged(): SpecOpt {
  return late((spec, ctx) => {
    privileged.add(spec);
    const process = processOf(spec);
    setCapabilities(process, ctx.hostCapabilities ?? KNOWN_CAPABILITIES);
    delete process.apparmorProfile;
    delete process.selinuxLabel;
    const linux = linuxOf(spec);
    delete linux.maskedPaths;
    delete linux.readonlyPaths;
    delete linux.seccomp;
    for (const m of spec.mounts ?? []) {
      if (m.type === 'sysfs' || m.type === 'cgroup') {
        const options = writable(m.options);
        if (options !== undefined) m.options = options;
      }
    }
    resourcesOf(spec).devices = [{ allow: true, access: 'rwm' }];
  });
}
