// The two filesystem operations Node has no call for, done by spawning Debian's tools: device nodes
// and fifos (coreutils `mknod`) and extended attributes (`setfattr` from the `attr` package, see
// scripts/install-deps). Both are rare in image layers (a few device nodes in old base images,
// capabilities on ping or newuidmap), but a spawn from berth's process is a fork of ~150 MB of it
// (~10 ms each here), so the applier gathers a layer's consecutive device nodes, fifos and overlay
// whiteouts and makes them with one shell (mknodAll). Paths given here are absolute, so they can
// never be read as options; the caller has checked them (target-tree.ts).

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

export interface NodeSpec {
  path: string;
  kind: NodeKind;
  mode: number;
  major: number;
  minor: number;
}

/** One mknod per node, each a fork of this small shell rather than of the Node process. */
const mknodScript =
  'while [ "$#" -gt 0 ]; do ' +
  'if [ "$3" = p ]; then mknod -m "$2" -- "$1" p || exit 1; ' +
  'else mknod -m "$2" -- "$1" "$3" "$4" "$5" || exit 1; fi; ' +
  'shift 5; done';

/**
 * Creates the nodes in order, with one process for all of them (8 device nodes: ~85 ms as 8 spawns
 * from a 150 MB process, ~19 ms as one shell). Stops at the first that fails (an existing path).
 */
export function mknodAll(nodes: readonly NodeSpec[]): void {
  const [only, ...more] = nodes;
  if (only === undefined) return;
  if (more.length === 0) {
    mknod(only.path, only.kind, only.mode, only.major, only.minor);
    return;
  }
  const args: string[] = [];
  for (const n of nodes) {
    args.push(n.path, (n.mode & 0o7777).toString(8), n.kind, String(n.major), String(n.minor));
  }
  const failure = run('sh', ['-c', mknodScript, 'sh', ...args], 'mknod');
  if (failure !== undefined) throw new InternalError(`mknod of ${nodes.length} nodes: ${failure}`);
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

/** Runs a tool; undefined on success, else its error text. `needs` names the tool for a shell script. */
function run(tool: string, args: string[], needs = tool): string | undefined {
  const result = spawnSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  // 127: the shell found no such command.
  const missing =
    (result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' ||
    (needs !== tool && result.status === 127);
  if (missing) {
    throw new FailedPreconditionError(`${needs}: not found; needed to apply this layer`, {
      cause: result.error,
      hint: 'install coreutils and attr (scripts/install-deps)',
    });
  }
  if (result.error !== undefined) throw new InternalError(`running ${tool}`, { cause: result.error });
  if (result.status === 0) return undefined;
  return `${needs} exited with ${result.status ?? result.signal}: ${result.stderr.trim()}`;
}
