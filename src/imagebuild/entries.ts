// Turns a caller's list of layer entries into the exact, deterministic sequence of tar headers:
// validated paths, implicit parent directories, whiteout names, defaults filled in, sorted.
// Pure: no I/O, so the rules below are tested without writing a tar.

import { posix } from 'node:path';
import type { Header } from 'tar-stream';
import { InvalidArgumentError } from '../errdefs/index.ts';
import type { LayerEntry } from './types.ts';

/**
 * The default mtime of every entry and the `created` date of images (2024-01-01T00:00:00Z), in the
 * spirit of SOURCE_DATE_EPOCH: a fixed date, so two builds of the same input give the same digests.
 */
export const reproducibleEpoch = new Date(Date.UTC(2024, 0, 1));

/** image-spec layer.md: a whiteout is `.wh.<name>`; the opaque marker is `.wh..wh..opq`. */
export const whiteoutPrefix = '.wh.';
export const opaqueMarker = '.wh..wh..opq';

/** The largest uid/gid a ustar header holds (6 octal digits); tar-stream writes no pax uid/gid. */
const maxId = 0o777777;

/** One tar entry to write: the header and where its body comes from (files only). */
export interface PlannedEntry {
  header: Partial<Header> & Pick<Header, 'name'>;
  content?: Uint8Array;
  hostPath?: string;
}

/** `/bin/sh` → `bin/sh`. Rejects empty paths, `..`, NUL and the root itself. */
export function layerPath(path: string, what = 'layer path'): string {
  if (path.includes('\0')) throw new InvalidArgumentError(`${what} ${JSON.stringify(path)}: contains NUL`);
  if (path.split('/').includes('..')) {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(path)}: ".." is not allowed`);
  }
  const rel = posix.normalize(`/${path}`).slice(1).replace(/\/$/, '');
  if (rel === '' || rel === '.')
    throw new InvalidArgumentError(`${what} ${JSON.stringify(path)}: names no entry`);
  return rel;
}

// S_IF* bits ORed into the mode so that tar-stream never mistakes mode 0 for "unset" (it only
// writes the low 12 bits).
const typeBits = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  char: 0o020000,
  block: 0o060000,
  fifo: 0o010000,
};

/** Validates `entries` and returns them as tar headers in write order. */
export function planEntries(entries: readonly LayerEntry[], defaultMtime: Date): PlannedEntry[] {
  const byName = new Map<string, PlannedEntry>();
  const kinds = new Map<string, LayerEntry['type']>();
  const hardlinks: PlannedEntry[] = [];

  const add = (path: string, kind: LayerEntry['type'], planned: PlannedEntry): void => {
    if (kinds.has(path)) throw new InvalidArgumentError(`layer path /${path}: listed twice`);
    kinds.set(path, kind);
    // Keyed by the name in the tar (a whiteout's differs from the path it deletes), for sorting.
    if (kind === 'hardlink') hardlinks.push(planned);
    else byName.set(planned.header.name.replace(/\/$/, ''), planned);
  };

  for (const e of entries) {
    const path = layerPath(e.path);
    if (posix.basename(path).startsWith(whiteoutPrefix)) {
      throw new InvalidArgumentError(
        `layer path /${path}: ".wh." names are reserved; use a whiteout or opaque entry`,
      );
    }
    if (e.type === 'whiteout') add(path, e.type, markerEntry(whiteoutName(path), defaultMtime));
    else if (e.type === 'opaque')
      add(`${path}/${opaqueMarker}`, e.type, markerEntry(`${path}/${opaqueMarker}`, defaultMtime));
    else if (e.type === 'hardlink') add(path, e.type, hardlinkEntry(path, e.target, defaultMtime));
    else add(path, e.type, nodeEntry(path, e, defaultMtime));
  }

  addParents(byName, kinds, defaultMtime);
  for (const link of hardlinks) {
    const target = link.header.linkname ?? '';
    if (kinds.get(target) !== 'file') {
      throw new InvalidArgumentError(
        `hardlink /${link.header.name}: target /${target} must be a regular file of the same layer`,
      );
    }
    // A link header carries the file's metadata again, and extractors (containerd's, GNU tar) apply
    // it to the one inode: it must repeat the target's, or the target loses its mode and owner.
    const t = byName.get(target)!.header;
    Object.assign(link.header, { mode: t.mode, uid: t.uid, gid: t.gid, mtime: t.mtime });
  }
  // Sorted so that output does not depend on the caller's order; parents come before children.
  // Hardlinks go last so that their target file is always extracted before the link is made.
  const ordered = [...byName.keys()].sort(comparePaths).map((name) => byName.get(name)!);
  return [...ordered, ...hardlinks.sort((a, b) => comparePaths(a.header.name, b.header.name))];
}

function whiteoutName(path: string): string {
  return posix.join(posix.dirname(path), `${whiteoutPrefix}${posix.basename(path)}`);
}

/** A whiteout or opaque marker: an empty regular file whose mode and owner carry no meaning. */
function markerEntry(name: string, mtime: Date): PlannedEntry {
  return {
    header: { name, type: 'file', mode: typeBits.file | 0o644, uid: 0, gid: 0, size: 0, mtime },
    content: new Uint8Array(0),
  };
}

function hardlinkEntry(path: string, target: string, mtime: Date): PlannedEntry {
  const linkname = layerPath(target, `hardlink /${path} target`);
  return {
    header: {
      name: path,
      type: 'link',
      linkname,
      mode: typeBits.file | 0o644,
      uid: 0,
      gid: 0,
      size: 0,
      mtime,
    },
  };
}

type NodeEntry = Exclude<LayerEntry, { type: 'whiteout' | 'opaque' | 'hardlink' }>;

/** Files, directories, symlinks, devices and fifos: the entries that carry metadata. */
function nodeEntry(path: string, e: NodeEntry, defaultMtime: Date): PlannedEntry {
  const mode = e.mode ?? (e.type === 'dir' ? 0o755 : e.type === 'symlink' ? 0o777 : 0o644);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new InvalidArgumentError(`layer path /${path}: mode ${mode} is not within 0..0o7777`);
  }
  const header: PlannedEntry['header'] = {
    name: path,
    mode: typeBits[e.type] | mode,
    uid: checkId(e.uid ?? 0, path, 'uid'),
    gid: checkId(e.gid ?? 0, path, 'gid'),
    mtime: e.mtime ?? defaultMtime,
  };
  const planned: PlannedEntry = { header };
  switch (e.type) {
    case 'file':
      header.type = 'file';
      if ('hostPath' in e) planned.hostPath = e.hostPath;
      else planned.content = typeof e.content === 'string' ? Buffer.from(e.content, 'utf8') : e.content;
      // A host file's size is taken when it is opened, as the tar is written.
      header.size = planned.content?.byteLength ?? 0;
      break;
    case 'dir':
      // GNU tar and Docker end directory names with '/'; tar-stream 3 does not add it itself.
      header.type = 'directory';
      header.name = `${path}/`;
      break;
    case 'symlink':
      if (e.target === '' || e.target.includes('\0')) {
        throw new InvalidArgumentError(`symlink /${path}: target ${JSON.stringify(e.target)} is not a path`);
      }
      header.type = 'symlink';
      header.linkname = e.target;
      break;
    case 'char':
    case 'block':
      header.type = e.type === 'char' ? 'character-device' : 'block-device';
      header.devmajor = checkId(e.major, path, 'device major');
      header.devminor = checkId(e.minor, path, 'device minor');
      break;
    case 'fifo':
      header.type = 'fifo';
      break;
  }
  return planned;
}

/** Adds a root-owned 0755 directory for every ancestor not listed, as tar writers do. */
function addParents(
  byName: Map<string, PlannedEntry>,
  kinds: Map<string, LayerEntry['type']>,
  mtime: Date,
): void {
  for (const path of [...kinds.keys()]) {
    for (let dir = posix.dirname(path); dir !== '.'; dir = posix.dirname(dir)) {
      const kind = kinds.get(dir);
      if (kind === 'dir') continue;
      if (kind !== undefined)
        throw new InvalidArgumentError(`layer path /${path}: parent /${dir} is a ${kind}`);
      kinds.set(dir, 'dir');
      byName.set(dir, {
        header: { name: `${dir}/`, type: 'directory', mode: typeBits.dir | 0o755, uid: 0, gid: 0, mtime },
      });
    }
  }
}

function checkId(id: number, path: string, what: string): number {
  if (!Number.isInteger(id) || id < 0 || id > maxId) {
    throw new InvalidArgumentError(`layer path /${path}: ${what} ${id} is not within 0..${maxId}`);
  }
  return id;
}

/**
 * Orders paths component by component, each component by its UTF-8 bytes (as `tar --sort=name`):
 * a directory comes right before its own subtree, which stays contiguous ('a/…' before 'a-b').
 */
function comparePaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = Buffer.compare(Buffer.from(pa[i] ?? '', 'utf8'), Buffer.from(pb[i] ?? '', 'utf8'));
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}
