// The util-linux and iproute2 commands a sandbox is made with. Node has no unshare(2), setns(2) or
// mount(2); these tools have them and well-known error texts. Each call is bounded by a named deadline
// and the caller's AbortSignal, and the child is always killed and reaped on either (the runtime's
// ProcessRunner does that); a non-zero exit becomes an InternalError carrying the tool's stderr.

import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { InternalError, isErrno, NotFoundError } from '../errdefs/index.ts';
import { childProcessRunner, type ProcessRunner } from '../runtime/index.ts';

/** One unshare/nsenter/ip call; each takes a few milliseconds. */
export const HOST_TOOL_DEADLINE_MS = 10_000;

// Debian puts unshare and nsenter in /usr/bin, ip in /usr/sbin (or /sbin, /bin on merged-usr hosts).
const searchDirs = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const found = new Map<string, string>();

export function hostTool(name: 'unshare' | 'nsenter' | 'ip' | 'hostname' | 'perl'): string {
  const cached = found.get(name);
  if (cached !== undefined) return cached;
  for (const dir of searchDirs) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      found.set(name, path);
      return path;
    } catch (err) {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'EACCES')) throw err;
    }
  }
  throw new NotFoundError(`${name}: not found in ${searchDirs.join(', ')}`, {
    hint: 'install util-linux and iproute2',
  });
}

export interface ToolOptions {
  signal?: AbortSignal;
  runner?: ProcessRunner;
}

/** Runs `file args…`; resolves to stdout on exit 0, throws InternalError naming the command otherwise. */
export async function runTool(
  file: string,
  args: readonly string[],
  opts: ToolOptions = {},
): Promise<string> {
  const runner = opts.runner ?? childProcessRunner;
  const r = await runner.run(file, args, {
    timeoutMs: HOST_TOOL_DEADLINE_MS,
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  if (r.code === 0) return r.stdout;
  const why = r.stderr.trim() || (r.signal === null ? `exit status ${r.code}` : `killed by ${r.signal}`);
  throw new InternalError(`${file} ${args.join(' ')}: ${why}`);
}
