// Runtimes by name: `runc` or `crun` → the binary, berth's own root and log for it, and the wrapper
// this host needs (crun on a hybrid cgroup host, crun-hybrid.ts). berth's containers live under
// `<state>/runtimes/<name>/root`, never in the runtime's default root (/run/runc, /run/crun), so
// `runc list` of another engine never shows them and berth never sees another engine's.

import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, isErrno, NotFoundError } from '../errdefs/index.ts';
import { hideUnifiedWrapper, hostNeedsUnifiedHidden } from './crun-hybrid.ts';
import type { RuntimeConfig, RuntimeName } from './types.ts';
import { runtimeNames } from './types.ts';

/** Where the Debian packages put them (runc in /usr/sbin, crun in /usr/bin), then the rest of PATH. */
const searchDirs = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

export interface ResolveOptions {
  /** berth's state dir (`/run/berth`, or a test's temp dir). */
  stateDir: string;
  /** An explicit binary path (config `runtimes.<name>.path`), instead of the search. */
  binary?: string;
  /** Force the hybrid-cgroup wrapper on or off; by default decided from this host's mounts. */
  hideUnified?: boolean;
}

export function isRuntimeName(name: string): name is RuntimeName {
  return (runtimeNames as readonly string[]).includes(name);
}

/** The RuntimeConfig for `name` on this host. */
export function resolveRuntime(name: string, opts: ResolveOptions): RuntimeConfig {
  if (!isRuntimeName(name)) {
    throw new InvalidArgumentError(`runtime ${JSON.stringify(name)}: unknown`, {
      hint: `choose one of ${runtimeNames.join(', ')}`,
    });
  }
  const binary = opts.binary ?? findExecutable(name);
  const dir = join(opts.stateDir, 'runtimes', name);
  const hide = name === 'crun' && (opts.hideUnified ?? hostNeedsUnifiedHidden());
  return {
    name,
    binary,
    root: join(dir, 'root'),
    logFile: join(dir, 'log.json'),
    wrapper: hide ? hideUnifiedWrapper() : [],
  };
}

export function findExecutable(name: string): string {
  const dirs = [...searchDirs, ...(process.env.PATH ?? '').split(':').filter((d) => d !== '')];
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch (err) {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'EACCES') && !isErrno(err, 'ENOTDIR')) throw err;
    }
  }
  throw new NotFoundError(`runtime ${name}: no executable in ${dirs.join(':')}`, {
    hint: 'install it (scripts/install-deps)',
  });
}
