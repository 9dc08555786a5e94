// Reading cgroupfs files and removing cgroup directories, shared by the v1 and v2 drivers.

import { readdirSync } from 'node:fs';
import { readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CanceledError,
  FailedPreconditionError,
  InternalError,
  isErrno,
  NotFoundError,
} from '../errdefs/index.ts';

/** How long `removeDirs` retries EBUSY (processes still exiting leave their cgroup busy briefly). */
export const CGROUP_REMOVE_DEADLINE_MS = 5_000;
const REMOVE_RETRY_MS = 20;

export async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    // ENODEV: the cgroup was removed between the open and the read (a container going away while
    // its stats are read, seen under critest -parallel 2): gone all the same.
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENODEV'))
      throw new NotFoundError(`cgroup file ${file}: does not exist`, { cause: err });
    throw err;
  }
}

/** A file holding one integer (`max` → undefined: cgroup files spell "no limit" that way). */
export async function readNumber(file: string): Promise<number | undefined> {
  const t = (await readText(file)).trim();
  if (t === 'max') return undefined;
  const n = Number(t);
  if (t === '' || !Number.isFinite(n))
    throw new InternalError(`cgroup file ${file}: not a number: ${t.slice(0, 40)}`);
  return n;
}

/** A flat-keyed file (`key value` per line: memory.events, cpu.stat, memory.oom_control). */
export async function readKeyed(file: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await readText(file)).split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k !== undefined && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** The file's number, or undefined when this kernel has no such file (memory.peak before 5.19). */
export async function readOptionalNumber(file: string): Promise<number | undefined> {
  try {
    return await readNumber(file);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** Every directory at or below `dir`, deepest first (cgroups are removed with rmdir, leaves first). */
function treeDeepestFirst(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  return [...entries.flatMap(treeDeepestFirst), dir];
}

/**
 * rmdir every directory of `dirs` and their sub-cgroups, leaves first. A cgroup with a live process is
 * EBUSY: retried until CGROUP_REMOVE_DEADLINE_MS (a killed process leaves its cgroup a moment after
 * the kill), then FailedPrecondition naming the cgroup.
 */
export async function removeDirs(dirs: readonly string[], signal?: AbortSignal): Promise<void> {
  const until = Date.now() + CGROUP_REMOVE_DEADLINE_MS;
  for (const top of dirs) {
    for (const dir of treeDeepestFirst(top)) {
      for (;;) {
        if (signal?.aborted) throw new CanceledError(`removing cgroup ${dir}: canceled`);
        try {
          await rmdir(dir);
          break;
        } catch (err) {
          if (isErrno(err, 'ENOENT')) break;
          if (!isErrno(err, 'EBUSY') || Date.now() >= until) {
            if (isErrno(err, 'EBUSY')) {
              throw new FailedPreconditionError(`removing cgroup ${dir}: still has processes`, {
                cause: err,
              });
            }
            throw err;
          }
          await sleep(REMOVE_RETRY_MS);
        }
      }
    }
  }
}
