// Small process facts read from /proc, for the shim's liveness checks and cleanup. A process that
// exited but was not yet reaped (state Z) counts as gone: conmon's daemon child is reparented to
// pid 1, and whether pid 1 reaps promptly is not berth's to know.

import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isErrno } from '../errdefs/index.ts';

/** How often `waitGone` looks again. */
export const GONE_POLL_MS = 10;

/** The state letter of /proc/<pid>/stat (R, S, D, Z, …), or undefined when there is no such pid. */
export function procState(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ESRCH')) return undefined;
    throw err;
  }
  // proc(5): "pid (comm) state …"; comm may hold spaces and parentheses, so split at the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

export function isAlive(pid: number): boolean {
  const s = procState(pid);
  return s !== undefined && s !== 'Z' && s !== 'X';
}

/** Sends `signal` to `pid`, ignoring a process that is already gone. */
export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if (!isErrno(err, 'ESRCH')) throw err;
  }
}

/** Resolves true once `pid` is gone (or a zombie), false when `timeoutMs` passes first. */
export async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= until) return false;
    await sleep(GONE_POLL_MS);
  }
  return true;
}
