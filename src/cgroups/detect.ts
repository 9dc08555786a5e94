// Which cgroup layout this host has, read at run time from /proc/self/mountinfo (the cgroup and
// cgroup2 mounts and their super options, proc(5)) and /proc/cgroups (the controllers the kernel
// knows, cgroups(7)). The rules follow runc's libcontainer/cgroups (IsCgroup2UnifiedMode,
// IsCgroup2HybridMode): /sys/fs/cgroup itself a cgroup2 → v2; v1 hierarchies and a cgroup2 → hybrid.

import { readFileSync } from 'node:fs';
import { InternalError } from '../errdefs/index.ts';
import type { CgroupHost } from './types.ts';

// proc(5): \ooo escapes in mountinfo paths.
const unescapeOctal = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/** The controller names of /proc/cgroups (its first column), enabled ones only. */
export function parseProcCgroups(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const [name, , , enabled] = line.split(/\s+/);
    if (name !== undefined && enabled === '1') out.push(name);
  }
  return out;
}

/** The layout from mountinfo text and the kernel's controller names (pure). */
export function detectCgroupHost(mountinfo: string, controllers: readonly string[]): CgroupHost {
  const known = new Set(controllers);
  const v1: Record<string, string> = {};
  let unified: string | undefined;
  let rootIsV2 = false;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const point = unescapeOctal(left.split(' ')[4] ?? '');
    const [fsType, , superOpts = ''] = right.split(' ');
    if (fsType === 'cgroup2') {
      unified = point;
      if (point === '/sys/fs/cgroup') rootIsV2 = true;
    } else if (fsType === 'cgroup') {
      for (const o of superOpts.split(',')) if (known.has(o)) v1[o] = point;
    }
  }
  if (rootIsV2 || (unified !== undefined && Object.keys(v1).length === 0)) {
    return { layout: 'v2', v1: {}, unified: unified! };
  }
  if (Object.keys(v1).length === 0)
    throw new InternalError('cgroups: neither a cgroup nor a cgroup2 mount found');
  return unified === undefined ? { layout: 'v1', v1 } : { layout: 'hybrid', v1, unified };
}

/** This host's layout, read now. */
export function readCgroupHost(): CgroupHost {
  return detectCgroupHost(
    readFileSync('/proc/self/mountinfo', 'utf8'),
    parseProcCgroups(readFileSync('/proc/cgroups', 'utf8')),
  );
}
