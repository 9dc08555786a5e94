// Starts conmon for one container and hands back its pid and the container's, the way CRI-O's
// internal/oci/runtime_oci.go CreateContainer does: the sync pipe and the start pipe are passed as
// inherited fds 3 and 4 named by _OCI_SYNCPIPE/_OCI_STARTPIPE; conmon waits on the start pipe
// (so a caller can place it in a cgroup first), daemonises (its first process writes -P and exits),
// runs `runtime create`, and reports the container pid on the sync pipe. conmon then outlives berth.
//
// An exec session (`spec.execProcessSpec`, conmon's `--exec`) is launched the same way: the sync pipe
// reports the exec'd process's pid instead. With `--exec-attach` a third pipe, fd 5 named by
// _OCI_ATTACHPIPE, reports `{"data": 0}` once conmon's attach socket listens; berth then runs
// `beforeStart` (a client connects) and writes the start pipe a second time, which lets conmon's
// runtime child go on (conmon 2.1.6 src/conmon.c: the child blocks on a second read of the start pipe).
//
// On any failure everything started is undone before the error is thrown (design example 8): conmon
// killed and waited for, the container deleted through the runtime (`delete --force`), pid files and
// a stray exit file removed.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { InternalError, isErrno, UnavailableError } from '../errdefs/index.ts';
import { mark } from '../util/trace.ts';
import { conmonArgs } from './conmon-argv.ts';
import { isAlive, signalPid, waitGone } from './proc.ts';
import { readSyncMessage } from './sync-pipe.ts';
import type { ConmonSpec, ShimProcess } from './types.ts';

/** How long conmon may take from spawn to reporting the container pid (CRI-O allows 240 s). */
export const SHIM_START_DEADLINE_MS = 60_000;
/** How long a killed conmon may take to disappear during cleanup. */
export const SHIM_KILL_DEADLINE_MS = 5_000;
/** How long a conmon that closed its attach pipe is given to exit, for its status in the error. */
const ATTACH_EXIT_GRACE_MS = 1_000;
/** Bytes of conmon's own stderr kept for error messages. */
const MAX_STDERR = 16 * 1024;

export interface LaunchOptions {
  /** Absolute path of conmon. */
  conmonPath: string;
  signal?: AbortSignal;
  /**
   * Undoes the runtime's part after a failure: for a container the runtime's `delete --force`; for an
   * exec session, killing the exec'd process (the container must live on).
   */
  forceDelete: (id: string) => Promise<void>;
  deadlineMs?: number;
  /** Variables added to conmon's environment (TMPDIR: where conmon makes its console socket). */
  env?: Readonly<Record<string, string>>;
  /**
   * With `spec.execAttach`: runs once conmon's attach socket listens and before the process starts.
   * Its failure fails the launch (and undoes it).
   */
  beforeStart?: () => Promise<void>;
}

export async function launchConmon(spec: ConmonSpec, opts: LaunchOptions): Promise<ShimProcess> {
  const exec = spec.execProcessSpec !== undefined;
  const attach = exec && spec.execAttach === true;
  const what = exec ? `conmon for an exec in container ${spec.id}` : `conmon for container ${spec.id}`;
  // conmon creates neither: it fails silently (stdio already /dev/null) on a missing socket dir.
  for (const d of [
    spec.exitDir,
    spec.socketDir,
    ...(spec.persistDir === undefined ? [] : [spec.persistDir]),
  ]) {
    await mkdir(d, { recursive: true, mode: 0o700 });
  }
  mark('shim: spawn');
  const child = spawn(opts.conmonPath, conmonArgs(spec), {
    cwd: spec.bundle,
    detached: true, // its own session: a signal to berth's process group never reaches it
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe', ...(attach ? (['pipe'] as const) : [])],
    env: {
      ...process.env,
      ...opts.env,
      _OCI_SYNCPIPE: '3',
      _OCI_STARTPIPE: '4',
      ...(attach ? { _OCI_ATTACHPIPE: '5' } : {}),
    },
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    if (stderr.length < MAX_STDERR) stderr += b.toString('utf8');
  });
  // Node's stdio "pipes" are socketpairs: a conmon that dies with our start byte unread resets them
  // (ECONNRESET), and an 'error' with no listener would end a long-lived berthd. The outcome is read
  // from the sync pipe and conmon's exit status; these errors only say the peer is gone.
  for (const stream of child.stdio) {
    stream?.on('error', (err: Error) => {
      if (stderr.length < MAX_STDERR) stderr += ` (${err.message})`;
    });
  }
  const firstExit = exitOf(child);
  try {
    const sync = readSyncMessage(child.stdio[3] as Readable, {
      deadlineMs: opts.deadlineMs ?? SHIM_START_DEADLINE_MS,
      what,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    sync.catch(() => undefined); // awaited below; keeps an early rejection from being unhandled
    const start = child.stdio[4] as Writable;
    if (attach) {
      // One byte per read: conmon reads the start pipe once before it forks, its runtime child again.
      start.write('0');
      const attachPipe = (child.stdio as readonly unknown[])[5] as Readable;
      await attachReady(attachPipe, firstExit, what, () => stderr, opts);
      mark('shim: attach socket ready');
      await opts.beforeStart?.();
      start.end('1');
    } else {
      start.end('0');
    }
    const code = await Promise.race([firstExit, sync.then(() => undefined)]);
    if (code !== undefined && code !== 0) {
      throw new UnavailableError(
        `${what}: conmon exited with status ${code}: ${stderr.trim() || 'no message'}`,
      );
    }
    const msg = await sync;
    mark('shim: sync message');
    if (msg.data <= 0) {
      // In exec mode a negative wait status means the process had already ended when the runtime failed.
      throw new InternalError(
        `${what}: the runtime failed to ${exec ? 'exec' : 'create'} it: ${(msg.message ?? '').trim() || `status ${msg.data}`}`,
      );
    }
    await firstExit; // conmon's first process writes the -P file, then exits
    mark('shim: first exit');
    const conmonPid = await readPid(spec.conmonPidFile);
    if (conmonPid === undefined) throw new InternalError(`${what}: no pid in ${spec.conmonPidFile}`);
    detach(child);
    return { id: spec.id, conmonPid, containerPid: msg.data };
  } catch (err) {
    try {
      await undo(spec, child, firstExit, opts);
    } catch (cleanupErr) {
      throw new InternalError(
        `${what}: ${messageOf(err)}; and its cleanup failed: ${messageOf(cleanupErr)}`,
        {
          cause: new AggregateError([err, cleanupErr]),
        },
      );
    }
    throw err;
  }
}

/** Waits for conmon's `{"data": 0}` on the attach pipe: its attach socket listens. */
async function attachReady(
  pipe: Readable,
  firstExit: Promise<number | null>,
  what: string,
  stderr: () => string,
  opts: LaunchOptions,
): Promise<void> {
  let msg: Awaited<ReturnType<typeof readSyncMessage>>;
  try {
    msg = await readSyncMessage(pipe, {
      deadlineMs: opts.deadlineMs ?? SHIM_START_DEADLINE_MS,
      what: `${what}: attach pipe`,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  } catch (err) {
    // The pipe ended: conmon failed before making its socket (its first process says why, if it exited).
    if (err instanceof UnavailableError) {
      const code = await Promise.race([firstExit, sleep(ATTACH_EXIT_GRACE_MS).then(() => null)]);
      throw new UnavailableError(
        `${what}: conmon ended before its attach socket was ready${code !== null && code !== 0 ? ` (status ${code})` : ''}: ${stderr().trim() || 'no message'}`,
        { cause: err },
      );
    }
    throw err;
  }
  if (msg.data !== 0) {
    throw new InternalError(`${what}: unexpected attach message ${JSON.stringify(msg)}`);
  }
}

/** Kills and reaps what the launch started, removes the container from the runtime and the files. */
async function undo(
  spec: ConmonSpec,
  child: ChildProcess,
  firstExit: Promise<number | null>,
  opts: LaunchOptions,
) {
  const daemon = await readPid(spec.conmonPidFile);
  if (child.exitCode === null && child.signalCode === null) signalPid(child.pid!, 'SIGKILL');
  await firstExit; // reaps conmon's first process (our child)
  if (daemon !== undefined && isAlive(daemon)) {
    signalPid(daemon, 'SIGKILL');
    if (!(await waitGone(daemon, SHIM_KILL_DEADLINE_MS))) {
      throw new InternalError(`conmon ${daemon} of ${spec.id} did not die after SIGKILL`);
    }
  }
  detach(child);
  await opts.forceDelete(spec.id);
  const containerPid = await readPid(spec.containerPidFile);
  if (containerPid !== undefined && !(await waitGone(containerPid, SHIM_KILL_DEADLINE_MS))) {
    throw new InternalError(`container ${spec.id} process ${containerPid} still alive after delete --force`);
  }
  await Promise.all(
    [spec.conmonPidFile, spec.containerPidFile, join(spec.exitDir, spec.id)].map((f) =>
      rm(f, { force: true }),
    ),
  );
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('error', () => resolve(-1));
    child.once('exit', (code, signal) => resolve(signal === null ? code : 128));
  });
}

/** Lets berth exit while conmon runs on: no handle of ours keeps a reference to it. */
function detach(child: ChildProcess): void {
  for (const s of child.stdio) s?.destroy();
  child.unref();
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function readPid(file: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
