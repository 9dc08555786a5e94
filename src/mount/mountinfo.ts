import { readFileSync } from 'node:fs';
import type { MountInfo } from './types.ts';

// /proc/<pid>/mountinfo escapes space, tab, newline and backslash in paths as \ooo octal (proc(5)).
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/** Parses mountinfo text (proc(5)): `id parent major:minor root mountpoint opts … - fstype source superopts`. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const f = left.split(' ');
    const r = right.split(' ');
    out.push({
      id: Number(f[0]),
      parent: Number(f[1]),
      mountPoint: unescapeOctal(f[4] ?? ''),
      options: f[5] ?? '',
      fsType: r[0] ?? '',
      source: unescapeOctal(r[1] ?? ''),
    });
  }
  return out;
}

export function readMountInfo(path = '/proc/self/mountinfo'): MountInfo[] {
  return parseMountInfo(readFileSync(path, 'utf8'));
}

/** Mount points at or under `dir`, deepest first (the order to unmount them in). */
export function mountsUnder(dir: string, infos: MountInfo[] = readMountInfo()): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return infos
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}
