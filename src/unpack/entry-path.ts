// Pure checks on the names inside a layer tar. Every name is turned into a clean path relative to
// the target before anything touches the filesystem; symlinks on the way are checked later, by
// target-tree.ts, because only the filesystem knows them.

import { InvalidArgumentError } from '../errdefs/index.ts';

/** image-spec layer.md "Whiteouts": the prefix of a whiteout file and the opaque marker's name. */
export const whiteoutPrefix = '.wh.';
export const opaqueMarker = '.wh..wh..opq';
/** AUFS metadata (`.wh..wh.plnk`, `.wh..wh.aufs`): not content, skipped as Docker's archive does. */
const whiteoutMetaPrefix = '.wh..wh.';

export function refuse(entryName: string, reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`layer entry ${JSON.stringify(entryName)}: ${reason}`);
}

/**
 * The cleaned relative path of a tar name, '' for the root itself.
 *
 * Leading slashes are dropped, as containerd (it cleans the name and joins it under the root) and
 * GNU tar (`Removing leading '/' from member names`) do: `/etc/passwd` lands at target/etc/passwd.
 * `.` and empty components go; `..` cancels the component before it, lexically, so `a/../b` is `b`
 * and the filesystem never resolves `a`. A `..` with nothing left to cancel would leave the target:
 * refused (containerd instead clamps it at the root; an archive doing this is hostile or broken).
 */
export function normalizeEntryName(name: string, entryName = name, what = 'path'): string {
  if (name.includes('\0')) throw refuse(entryName, `${what} contains a NUL byte`);
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw refuse(entryName, `${what} escapes the target directory through ".."`);
      out.pop();
    } else {
      out.push(part);
    }
  }
  return out.join('/');
}

/** The parent of a cleaned relative path ('' for top-level names). */
export function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

export function baseOf(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

export type Whiteout =
  | { kind: 'none' }
  /** `.wh..wh..opq`: hide the lower layers' entries of directory `dir`. */
  | { kind: 'opaque'; dir: string }
  /** `.wh.NAME`: delete `rel` (= dir/NAME) of the lower layers. */
  | { kind: 'whiteout'; rel: string }
  /** Other `.wh..wh.*` names: AUFS bookkeeping, ignored. */
  | { kind: 'meta' };

/** Classifies a cleaned relative path; refuses whiteouts that name nothing or leave their directory. */
export function classifyWhiteout(rel: string, entryName: string): Whiteout {
  const base = baseOf(rel);
  if (!base.startsWith(whiteoutPrefix)) return { kind: 'none' };
  if (base === opaqueMarker) return { kind: 'opaque', dir: parentOf(rel) };
  if (base.startsWith(whiteoutMetaPrefix)) return { kind: 'meta' };
  const name = base.slice(whiteoutPrefix.length);
  // The cleaned path has no `.`/`..` components, but the name inside the whiteout can still be one:
  // `.wh..` and `.wh...` would delete the directory itself or its parent.
  if (name === '' || name === '.' || name === '..') {
    throw refuse(entryName, `whiteout names ${JSON.stringify(name)}, which is not an entry of its directory`);
  }
  const dir = parentOf(rel);
  return { kind: 'whiteout', rel: dir === '' ? name : `${dir}/${name}` };
}
