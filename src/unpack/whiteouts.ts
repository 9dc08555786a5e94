// image-spec layer.md "Whiteouts": `.wh.NAME` deletes NAME of the layers below, `.wh..wh..opq`
// hides everything the layers below have in its directory. "Whiteout files MUST only apply to
// resources in lower/parent layers", so an entry this layer wrote itself is never deleted by them,
// whatever the order of the entries in the tar.

import { readdirSync } from 'node:fs';
import { FailedPreconditionError } from '../errdefs/index.ts';
import { setXattr } from './host-tools.ts';
import type { TargetTree } from './target-tree.ts';
import type { WhiteoutMode } from './types.ts';

/** overlayfs.rst "whiteouts and opaque directories": a 0/0 char device, and this xattr with value y. */
const overlayOpaqueXattr = 'trusted.overlay.opaque';

/** How applyWhiteout makes overlay whiteout devices: the applier batches them with device nodes. */
export interface WhiteoutNodes {
  /** Called before anything at `rel` is deleted: nodes still waiting to be made must exist by then. */
  settle(rel: string): void;
  /** Makes the overlay whiteout (a 0/0 character device) at `rel`, now or with the next batch. */
  make(rel: string): void;
}

/** Applies `.wh.NAME` for `rel` (= dir/NAME). */
export function applyWhiteout(
  tree: TargetTree,
  mode: WhiteoutMode,
  entryName: string,
  rel: string,
  nodes: WhiteoutNodes,
): void {
  if (tree.applied.has(rel)) return;
  // The parent must be reachable without symlinks: `.wh.x` under a symlink to /etc would delete
  // /etc/x. In apply mode a missing parent means there is nothing to delete.
  if (!tree.ensureParent(entryName, rel, mode === 'overlay')) return;
  const st = tree.lstat(rel);
  if (st !== undefined) {
    nodes.settle(rel);
    tree.remove(rel, st);
  }
  if (mode === 'apply') return;
  nodes.make(rel);
  tree.applied.add(rel);
}

/** Applies `.wh..wh..opq` for directory `dir` ('' for the root). */
export function applyOpaque(tree: TargetTree, mode: WhiteoutMode, entryName: string, dir: string): void {
  const exists = tree.ensureDir(entryName, dir, mode === 'overlay');
  if (mode === 'overlay') {
    if (!setXattr(tree.abs(dir), overlayOpaqueXattr, Buffer.from('y'))) {
      throw new FailedPreconditionError(
        `layer entry ${JSON.stringify(entryName)}: the target's filesystem does not support ${overlayOpaqueXattr}`,
        { hint: 'overlay snapshots need a filesystem with trusted.* xattrs (ext4, xfs, tmpfs), and root' },
      );
    }
    return;
  }
  if (exists) emptyLowerEntries(tree, dir);
}

/**
 * Deletes the entries below `dir` that this layer did not write; inside directories this layer did
 * write, their lower content goes too (the whole subtree is opaque). containerd's applyNaive walks
 * the same way with its unpackedPaths set.
 */
function emptyLowerEntries(tree: TargetTree, dir: string): void {
  for (const entry of readdirSync(tree.abs(dir), { withFileTypes: true })) {
    const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (!tree.applied.has(rel)) {
      const st = tree.lstat(rel);
      if (st !== undefined) tree.remove(rel, st);
    } else if (entry.isDirectory()) {
      emptyLowerEntries(tree, rel);
    }
  }
}
