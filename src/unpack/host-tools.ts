// The two filesystem operations Node has no call for, done by spawning Debian's tools: device nodes
// and fifos (coreutils `mknod`) and extended attributes (`setfattr` from the `attr` package, see
// scripts/install-deps). Both are rare in image layers (a few device nodes in old base images,
// capabilities on ping or newuidmap), so a process per call costs little. Paths given here are
// absolute, so they can never be read as options; the caller has checked them (target-tree.ts).

import { spawnSync } from 'node:child_process';
import { FailedPreconditionError, InternalError } from '../errdefs/index.ts';

export type NodeKind = 'c' | 'b' | 'p';

/** Creates a device node or fifo; fails (like mknod(2)) when the path exists. */
export function mknod(path: string, kind: NodeKind, mode: number, major = 0, minor = 0): void {
  const args = ['-m', (mode & 0o7777).toString(8), path, kind];
  if (kind !== 'p') args.push(String(major), String(minor));
  const failure = run('mknod', args);
  if (failure !== undefined) throw new InternalError(`mknod ${path}: ${failure}`);
}

/**
 * Sets one xattr on `path` without following a symlink there (-h). Returns false when the filesystem
 * does not support that attribute: containerd (archive/tar.go setxattrs) skips those with a warning
 * rather than failing the pull, and so does berth.
 */
export function setXattr(path: string, name: string, value: Buffer): boolean {
  // `0x…` makes setfattr take the value as hex, so binary values (security.capability) survive.
  const args = ['-h', '-n', name];
  if (value.length > 0) args.push('-v', `0x${value.toString('hex')}`);
  args.push(path);
  const failure = run('setfattr', args);
  if (failure === undefined) return true;
  if (failure.includes('Operation not supported')) return false;
  throw new InternalError(`setting xattr ${name} on ${path}: ${failure}`);
}

/** Runs a tool; undefined on success, else its error text. */
function run(tool: string, args: string[]): string | undefined {
  const result = spawnSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.error !== undefined) {
    if ((result.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FailedPreconditionError(`${tool}: not found; needed to apply this layer`, {
        cause: result.error,
        hint: 'install coreutils and attr (scripts/install-deps)',
      });
    }
    throw new InternalError(`running ${tool}`, { cause: result.error });
  }
  if (result.status === 0) return undefined;
  return `${tool} exited with ${result.status ?? result.signal}: ${result.stderr.trim()}`;
}
