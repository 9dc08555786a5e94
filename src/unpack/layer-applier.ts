// Applies tar entries to the target with synchronous fs calls; it runs inside the unpack worker
// (design.md "Data flow": synchronous calls in a worker are ~9x faster than a promise per call).
// Order per entry follows what the kernel resets: chown clears setuid/setgid (so chmod comes after
// it) and security.capability (so xattrs come after both); writing and creating entries changes a
// directory's mtime (so directory times are set at the very end).

import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { isErrno } from '../errdefs/index.ts';
import { classifyWhiteout, normalizeEntryName, refuse } from './entry-path.ts';
import { mknodAll, type NodeSpec, setXattr } from './host-tools.ts';
import type { PaxMetadata } from './pax.ts';
import type { FileSink, TarHeader } from './tar-reader.ts';
import { TargetTree } from './target-tree.ts';
import type { WhiteoutMode } from './types.ts';
import { applyOpaque, applyWhiteout, type WhiteoutNodes } from './whiteouts.ts';

const createFlags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export interface ApplierOptions {
  root: string;
  whiteouts: WhiteoutMode;
  sameOwner: boolean;
  devices: boolean;
}

/** The metadata of one entry after PAX overrides. */
interface Meta {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  atime: number;
  mtime: number;
  xattrs: [string, Buffer][];
}

/** A device node, fifo or overlay whiteout waiting for the next batch, and what follows its mknod. */
interface PendingNode {
  rel: string;
  spec: NodeSpec;
  then: () => void;
}

export class LayerApplier {
  readonly tree: TargetTree;
  readonly #opts: ApplierOptions;
  #fd = -1;
  /**
   * Consecutive device nodes, fifos and overlay whiteouts, made together by one process (mknodAll)
   * before the next entry of any other kind, before anything is deleted where they could be, and at
   * the end: every other entry sees the tree exactly as if each had been made at its own entry.
   */
  readonly #pending: PendingNode[] = [];
  readonly #pendingRels = new Set<string>();

  constructor(opts: ApplierOptions) {
    this.#opts = opts;
    this.tree = new TargetTree(opts.root);
  }

  /** Applies one entry; returns a sink when its data must be written, else undefined. */
  begin(header: TarHeader, pax: PaxMetadata): FileSink | undefined {
    const name = header.name;
    const rel = normalizeEntryName(name);
    // The root itself ("./"): containerd ignores such entries; its metadata belongs to the snapshot.
    if (rel === '') return undefined;
    const mtime = pax.mtime ?? header.mtime;
    const meta: Meta = {
      name,
      mode: header.mode & 0o7777,
      uid: pax.uid ?? header.uid,
      gid: pax.gid ?? header.gid,
      mtime,
      atime: pax.atime ?? mtime,
      xattrs: pax.xattrs,
    };
    for (const [xattr] of meta.xattrs) {
      // overlayfs keeps its own state in trusted.overlay.* (opaque, redirect, metacopy): a layer
      // setting them could reshape the merged view; only whiteout conversion writes them.
      if (xattr.startsWith('trusted.overlay.'))
        throw refuse(name, `xattr ${xattr} is reserved for overlayfs`);
    }
    const whiteout = classifyWhiteout(rel, name);
    const makesNode =
      whiteout.kind === 'whiteout'
        ? this.#opts.whiteouts === 'overlay'
        : whiteout.kind === 'none' &&
          (header.type === 'character-device' || header.type === 'block-device' || header.type === 'fifo');
    if (!makesNode) this.#makeNodes();
    if (whiteout.kind === 'whiteout') {
      const nodes: WhiteoutNodes = {
        settle: () => this.#makeNodes(),
        make: (at) => {
          const abs = this.tree.abs(at);
          // The device takes the whiteout entry's owner.
          this.#queue(at, { path: abs, kind: 'c', mode: 0, major: 0, minor: 0 }, () =>
            this.#owner(abs, meta),
          );
        },
      };
      this.#settleAbove(whiteout.rel);
      applyWhiteout(this.tree, this.#opts.whiteouts, name, whiteout.rel, nodes);
      return undefined;
    }
    if (whiteout.kind === 'opaque') {
      applyOpaque(this.tree, this.#opts.whiteouts, name, whiteout.dir);
      return undefined;
    }
    if (whiteout.kind === 'meta') return undefined;
    switch (header.type) {
      case 'file':
      case 'contiguous-file':
        return this.#file(rel, meta);
      case 'directory':
        this.#directory(rel, meta, header.size);
        return undefined;
      case 'symlink':
        this.#symlink(rel, meta, header.linkname);
        return undefined;
      case 'link':
        this.#hardlink(rel, name, header.linkname);
        return undefined;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        this.#node(rel, meta, header);
        return undefined;
      default:
        throw refuse(name, `unsupported tar entry type ${JSON.stringify(header.type)}`);
    }
  }

  /** Makes the waiting nodes and sets the deferred directory times; call once, after the last entry. */
  finish(): void {
    this.#makeNodes();
    for (const [rel, [atime, mtime]] of this.tree.dirTimes) lutimesSync(this.tree.abs(rel), atime, mtime);
  }

  /** Closes the file being written, if any (on failure; the caller discards the target). */
  abort(): void {
    if (this.#fd >= 0) this.#close();
    this.#pending.length = 0;
    this.#pendingRels.clear();
  }

  #queue(rel: string, spec: NodeSpec, then: () => void): void {
    this.#pending.push({ rel, spec, then });
    this.#pendingRels.add(rel);
  }

  /**
   * Makes the waiting nodes when one of them is on the path to `rel`: the path checks must find the
   * node there (and refuse it as a parent), not create a directory in its place.
   */
  #settleAbove(rel: string): void {
    if (this.#pendingRels.size === 0) return;
    for (let at = rel.indexOf('/'); at >= 0; at = rel.indexOf('/', at + 1)) {
      if (this.#pendingRels.has(rel.slice(0, at))) {
        this.#makeNodes();
        return;
      }
    }
  }

  /** Makes every waiting node, in entry order, then gives each its owner, mode, xattrs and times. */
  #makeNodes(): void {
    if (this.#pending.length === 0) return;
    const batch = this.#pending.splice(0);
    this.#pendingRels.clear();
    mknodAll(batch.map((n) => n.spec));
    for (const n of batch) n.then();
  }

  #file(rel: string, meta: Meta): FileSink {
    const tree = this.tree;
    tree.ensureParent(meta.name, rel, true);
    const abs = tree.abs(rel);
    // O_EXCL|O_NOFOLLOW: never write into an existing file (a symlink or a hardlink could lead out).
    const fd = tree.replace(rel, () => openSync(abs, createFlags, 0o600));
    this.#fd = fd;
    return {
      write: (chunk) => {
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      },
      end: () => {
        if (this.#opts.sameOwner) fchownSync(fd, meta.uid, meta.gid);
        fchmodSync(fd, meta.mode);
        futimesSync(fd, meta.atime, meta.mtime);
        this.#close();
        this.#xattrs(abs, meta);
        tree.applied.add(rel);
      },
    };
  }

  #close(): void {
    const fd = this.#fd;
    this.#fd = -1;
    closeSync(fd);
  }

  #directory(rel: string, meta: Meta, size: number): void {
    // GNU tar and Go skip a directory's data; refused rather than guessed at (tar-reader.ts skips it).
    if (size > 0) throw refuse(meta.name, `directory entry carries ${size} bytes of data`);
    const tree = this.tree;
    tree.ensureParent(meta.name, rel, true);
    const abs = tree.abs(rel);
    try {
      mkdirSync(abs, 0o700);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      // A directory stays (its lower content with it) and takes the new metadata; anything else goes.
      const st = tree.lstat(rel);
      if (st === undefined || !st.isDirectory()) {
        if (st !== undefined) tree.remove(rel, st);
        mkdirSync(abs, 0o700);
      }
    }
    tree.markDir(rel);
    if (this.#opts.sameOwner) lchownSync(abs, meta.uid, meta.gid);
    chmodSync(abs, meta.mode);
    this.#xattrs(abs, meta);
    tree.dirTimes.set(rel, [meta.atime, meta.mtime]);
    tree.applied.add(rel);
  }

  #symlink(rel: string, meta: Meta, linkname: string | null): void {
    // The link's text is data and may point anywhere; later entries never pass through it because
    // ensureDir refuses symlinks on a path.
    if (!linkname) throw refuse(meta.name, 'symlink without a target');
    const tree = this.tree;
    tree.ensureParent(meta.name, rel, true);
    const abs = tree.abs(rel);
    tree.replace(rel, () => symlinkSync(linkname, abs));
    if (this.#opts.sameOwner) lchownSync(abs, meta.uid, meta.gid);
    this.#xattrs(abs, meta);
    lutimesSync(abs, meta.atime, meta.mtime);
    tree.applied.add(rel);
  }

  #hardlink(rel: string, name: string, linkname: string | null): void {
    if (!linkname) throw refuse(name, 'hardlink without a target');
    const tree = this.tree;
    const targetRel = normalizeEntryName(linkname, name, `hardlink target ${JSON.stringify(linkname)}`);
    if (targetRel === '' || targetRel === rel) throw refuse(name, `hardlink to ${JSON.stringify(linkname)}`);
    // The target must already exist inside the target directory, reached without symlinks, and be
    // a non-directory (link(2) does not follow a symlink at the last component).
    const st = tree.ensureParent(name, targetRel, false) ? tree.lstat(targetRel) : undefined;
    if (st === undefined) throw refuse(name, `hardlink target ${JSON.stringify(linkname)} does not exist`);
    if (st.isDirectory()) throw refuse(name, `hardlink target ${JSON.stringify(linkname)} is a directory`);
    tree.ensureParent(name, rel, true);
    const abs = tree.abs(rel);
    // Hardlinks share the inode's metadata: nothing else to set (containerd does the same).
    tree.replace(rel, () => linkSync(tree.abs(targetRel), abs));
    tree.applied.add(rel);
  }

  #node(rel: string, meta: Meta, header: TarHeader): void {
    const kind = header.type === 'fifo' ? 'p' : header.type === 'block-device' ? 'b' : 'c';
    if (kind !== 'p' && !this.#opts.devices) throw refuse(meta.name, 'device nodes are not allowed here');
    const tree = this.tree;
    this.#settleAbove(rel);
    tree.ensureParent(meta.name, rel, true);
    const abs = tree.abs(rel);
    // The same name twice in a row: the first must exist to be replaced.
    if (this.#pendingRels.has(rel)) this.#makeNodes();
    const st = tree.lstat(rel);
    if (st !== undefined) {
      // A directory being replaced may hold nodes still waiting: made first, deleted with it.
      this.#makeNodes();
      tree.remove(rel, st);
    }
    const spec = {
      path: abs,
      kind,
      mode: meta.mode,
      major: header.devmajor,
      minor: header.devminor,
    } as const;
    this.#queue(rel, spec, () => {
      this.#owner(abs, meta);
      chmodSync(abs, meta.mode);
      this.#xattrs(abs, meta);
      lutimesSync(abs, meta.atime, meta.mtime);
    });
    tree.applied.add(rel);
  }

  #owner(abs: string, meta: Meta): void {
    if (this.#opts.sameOwner) lchownSync(abs, meta.uid, meta.gid);
  }

  #xattrs(abs: string, meta: Meta): void {
    for (const [name, value] of meta.xattrs) setXattr(abs, name, value);
  }
}
