// Shared pieces for benchmarks that run berth's peers (containerd, podman, runc, crun) on this machine:
// a cleanup stack that also runs on failure and on SIGINT/SIGTERM, Debian packages installed when
// missing, a journaled ext4 loop filesystem, a tmpfs, a private containerd, and /proc readers for
// finding and measuring the processes a contender leaves running. Written for bench/run.ts;
// bench/pull.ts keeps its own copies (its measuring code is edited separately).

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** A command that takes longer than this is stuck (a pull of the tiny image takes well under a second). */
export const shTimeoutMs = 120_000;

/** Runs a command to completion; stdout as text; throws with its stderr when it fails or times out. */
export function sh(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): string {
  try {
    return execFileSync(cmd, argv, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
      timeout: shTimeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: 64 << 20,
    });
  } catch (err) {
    const e = err as { stderr?: string; status?: number | null; signal?: string | null; code?: string };
    const how =
      e.code === 'ETIMEDOUT'
        ? `killed after ${shTimeoutMs / 1000} s`
        : e.status !== null && e.status !== undefined
          ? `exit ${e.status}`
          : `killed by ${e.signal ?? '?'}`;
    throw new Error(`${cmd} ${argv.join(' ')}: ${how}: ${(e.stderr ?? '').trim().slice(-1500)}`, {
      cause: err,
    });
  }
}

/** Like sh, but a failure is only logged (for cleanup steps where one failure must not stop the rest). */
export function trySh(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    return sh(cmd, argv, env);
  } catch (err) {
    log(`  (ignored) ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

// ---- cleanup ----

/**
 * A stack of undo steps, run last-first exactly once: at the normal end, after a failure and on
 * SIGINT/SIGTERM. A failing step is logged and the next one still runs.
 */
export class Cleanups {
  readonly #steps: { what: string; fn: () => unknown }[] = [];
  #running: Promise<void> | undefined;

  constructor() {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        log(`${sig}: cleaning up`);
        void this.run().then(() => process.exit(130));
      });
    }
  }

  /** True once the undo has begun: a caller's loop checks it so that it starts nothing new. */
  get stopping(): boolean {
    return this.#running !== undefined;
  }

  push(what: string, fn: () => unknown): void {
    this.#steps.push({ what, fn });
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      for (const { what, fn } of this.#steps.reverse()) {
        try {
          await fn();
        } catch (err) {
          log(`cleanup (${what}): ${(err as Error).message}`);
        }
      }
    })();
    return this.#running;
  }
}

// ---- children ----

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is reaped. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill('SIGTERM');
  if ((await Promise.race([done.then(() => true), sleep(graceMs, false, { ref: false })])) === false) {
    child.kill('SIGKILL');
    await done;
  }
}

// ---- packages ----

/** `[command or absolute path, Debian package]`: installs the packages of the missing ones. */
export function ensureDebianTools(tools: readonly (readonly [string, string])[]): void {
  const has = (cmd: string): boolean =>
    cmd.startsWith('/') ? existsSync(cmd) : sh('sh', ['-c', `command -v ${cmd} || true`]).trim() !== '';
  const missing = [...new Set(tools.filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return;
  log(`installing from Debian: ${missing.join(' ')}`);
  const install = (): void => {
    execFileSync('apt-get', ['install', '-y', '-qq', ...missing], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  };
  try {
    install();
  } catch {
    // Stale or absent package lists (a fresh machine): refresh once and retry.
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'] });
    install();
  }
}

// ---- filesystems ----

/** Mount points at or below `dir` in this mount namespace, deepest first. */
export function mountsAtOrBelow(dir: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Lazily unmounts what a contender left mounted strictly below `dir` (overlay rootfs, shm, netns). */
export function unmountBelow(dir: string): void {
  for (const p of mountsAtOrBelow(dir)) if (p !== dir) trySh('umount', ['-l', p]);
}

/** Unmounts `mnt` (after what is below it), retrying while busy, then lazily. */
async function unmount(mnt: string): Promise<void> {
  unmountBelow(mnt);
  for (let attempt = 1; ; attempt++) {
    try {
      sh('umount', [mnt]);
      return;
    } catch (err) {
      if (attempt === 5) {
        log(`umount ${mnt}: busy, detaching lazily (${(err as Error).message.trim()})`);
        sh('umount', ['-l', mnt]);
        return;
      }
      await sleep(500);
    }
  }
}

/**
 * A journaled ext4 filesystem in `<base>/fs.img` on a loop device (direct I/O, so the backing file's
 * writeback never lands in a later measurement), mounted at `<base>/mnt`. Undone by `cleanups`.
 */
export function mountLoopFs(base: string, size: string, cleanups: Cleanups): string {
  const img = join(base, 'fs.img');
  const mnt = join(base, 'mnt');
  mkdirSync(mnt, { recursive: true });
  sh('truncate', ['-s', size, img]);
  // Inode tables and journal written now, not by ext4lazyinit in the background during runs.
  sh('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', img]);
  const dev = sh('losetup', ['--find', '--show', '--direct-io=on', img]).trim();
  cleanups.push(`detach ${dev}`, () => {
    // Only our device, and only while it still is ours (backed by our image file).
    const still = sh('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'])
      .split('\n')
      .some((l) => l.trim().split(/\s+/)[0] === dev && l.includes(img));
    if (still) sh('losetup', ['-d', dev]);
  });
  sh('mount', [dev, mnt]);
  cleanups.push(`umount ${mnt}`, () => unmount(mnt));
  return mnt;
}

/** A tmpfs at `dir` (created), for runtime state as /run holds it on a usual host. */
export function mountTmpfs(dir: string, size: string, cleanups: Cleanups): string {
  mkdirSync(dir, { recursive: true });
  sh('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  cleanups.push(`umount ${dir}`, () => unmount(dir));
  return dir;
}

// ---- processes ----

export interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  /** NUL-separated argv joined with spaces (empty for kernel threads). */
  cmdline: string;
  /** /proc/PID/ns/pid link text, or '' when unreadable. */
  pidNs: string;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // exited, awaiting its reaper
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replaceAll('\0', ' ');
    let pidNs = '';
    try {
      pidNs = readlinkSync(`/proc/${pid}/ns/pid`);
    } catch {
      // a process exiting under us
    }
    return { pid, ppid: Number(fields[1]), comm, cmdline, pidNs };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Every live user-space process now. */
export function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p !== undefined && p.cmdline !== '') out.push(p);
  }
  return out;
}

/** `pids` and all their descendants among `procs`, children first (the order to kill them in). */
export function withDescendants(pids: readonly number[], procs: readonly Proc[]): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const out: number[] = [];
  const visit = (pid: number): void => {
    for (const c of children.get(pid) ?? []) visit(c);
    if (!out.includes(pid)) out.push(pid);
  };
  for (const pid of pids) visit(pid);
  return out;
}

export function killPid(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * The safety net after the polite cleanups: kills (by pid, children first) every process whose
 * command line names one of `markers` (this run's unique directories and sockets), with what runs
 * below it (a container's init under its shim). Returns what it killed, for the log.
 */
export async function killMarked(markers: readonly string[]): Promise<Proc[]> {
  const procs = processes();
  const marked = procs.filter((p) => p.pid !== process.pid && markers.some((m) => p.cmdline.includes(m)));
  if (marked.length === 0) return [];
  const pids = withDescendants(
    marked.map((p) => p.pid),
    procs,
  ).filter((pid) => pid !== process.pid);
  for (const pid of pids) killPid(pid);
  const until = Date.now() + 5000;
  while (Date.now() < until && pids.some((pid) => readProc(pid) !== undefined)) await sleep(20);
  return procs.filter((p) => pids.includes(p.pid));
}

/** A field of /proc/PID/status in KiB (VmRSS, VmHWM, …); NaN when absent. */
export function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? Number.NaN);
}

/** Proportional set size (shared pages split among their users) from smaps_rollup, KiB. */
export function pssKiB(pid: number): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return Number(m?.[1] ?? Number.NaN);
}

// ---- containerd ----

export interface Containerd {
  /** The gRPC socket, for `ctr -a`. */
  sock: string;
  pid: number;
  child: ChildProcess;
  logPath: string;
}

/** containerd's config: root on the benchmark's filesystem, its own state and sockets, no CRI. */
function containerdConfig(root: string, state: string): string {
  return `version = 2
root = ${JSON.stringify(root)}
state = ${JSON.stringify(state)}
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = ${JSON.stringify(join(state, 'containerd.sock'))}
[ttrpc]
  address = ${JSON.stringify(join(state, 'containerd.sock.ttrpc'))}
[debug]
  address = ""
  level = "warn"
[metrics]
  address = ""
`;
}

/**
 * Starts Debian's containerd with root `root` and state `state` (short: it holds unix sockets) and
 * waits until `ctr version` answers. Stopped (SIGTERM, then SIGKILL) by `cleanups`.
 */
export async function startContainerd(root: string, state: string, cleanups: Cleanups): Promise<Containerd> {
  mkdirSync(root, { recursive: true });
  mkdirSync(state, { recursive: true });
  const config = join(state, 'containerd.toml');
  writeFileSync(config, containerdConfig(root, state));
  const sock = join(state, 'containerd.sock');
  const logPath = join(state, 'containerd.log');
  const logFd = openSync(logPath, 'w');
  const child = spawn('containerd', ['--config', config], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  cleanups.push('stop containerd', () => stopChild(child));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`containerd exited ${child.exitCode}: ${readFileSync(logPath, 'utf8').slice(-1500)}`);
    }
    try {
      sh('ctr', ['-a', sock, 'version']);
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error('containerd did not start', { cause: err });
      await sleep(50);
    }
  }
  return { sock, pid: child.pid as number, child, logPath };
}

/**
 * Waits until no process but `exclude` names one of `markers` (a shim still exiting, podman's
 * exit-command cleanup): what one run leaves working in the background must not run into the next
 * one's clock. Resolves with the time that took in ms, and what still runs if `timeoutMs` passed.
 */
export async function waitQuiet(
  markers: readonly string[],
  exclude: readonly number[],
  timeoutMs: number,
): Promise<{ ms: number; still: Proc[] }> {
  const t = performance.now();
  for (;;) {
    const still = processes().filter(
      (p) => p.pid !== process.pid && !exclude.includes(p.pid) && markers.some((m) => p.cmdline.includes(m)),
    );
    const ms = performance.now() - t;
    if (still.length === 0 || ms > timeoutMs) return { ms, still };
    await sleep(5);
  }
}
