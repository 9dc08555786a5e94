// An exec through conmon, for `berth exec -t`: the runtime's exec with a terminal needs a console socket
// that receives the pty's fd (SCM_RIGHTS), which Node cannot take, so conmon does what it does for
// podman's exec (libpod/oci_conmon_exec_common.go): `conmon --exec --exec-process-spec FILE -t [-i
// --exec-attach]` runs `runtime exec --detach --tty --console-socket …`, holds the pty, becomes the
// process's parent, writes its output to the session's CRI log and its exit status to the session's
// exit file. The caller follows that log, feeds stdin to the session's attach socket (connected before
// the process starts, --exec-attach), sends window sizes to its ctl FIFO, waits, and closes the session.
//
// One directory per session, `<bundle>/exec-<12 hex>` (a container's teardown removes it with the
// bundle, should berth die mid-session), is conmon's `-b`:
//   process.json   the process spec (exec.ts execProcess)
//   pid, conmon.pid   the exec'd pid (`runtime exec --pid-file`) and conmon's
//   exec.log       the session's CRI log (`-l k8s-file:`)
//   exit/<ctr id>  the exit status: conmon names its exit file after `-c`, the container, so each session
//                  needs an exit dir of its own
//   runtime.log    the runtime's `--log` for this exec, for the reason of a failure (crun reports a
//                  missing command there only; runc on stderr too, which conmon passes on)
//   attach, ctl, winsz   conmon's attach socket and control FIFOs, made in `-b` for exec as well
// `<socket dir>/<session id>` links to it, made by berth before conmon starts (conmon replaces it
// with the same link, src/conn_sock.c socket_parent_dir, and never removes it): the attach socket's
// short path, and conmon's TMPDIR, where it makes its console socket `conmon-term.XXXXXX`
// (g_get_tmp_dir): a path under the bundle would pass sun_path's 108 bytes, and in /tmp a socket the
// runtime never connected to (an exec that fails early) would stay behind.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CanceledError, InternalError, isErrno, UnavailableError } from '../errdefs/index.ts';
import { logMessages } from '../runtime/index.ts';
import { attachSocketPath } from '../shim/attach.ts';
import { ctlFifoPath } from '../shim/attach-ctl.ts';
import { watchExit } from '../shim/exit-file.ts';
import { launchConmon, readPid, SHIM_KILL_DEADLINE_MS } from '../shim/launcher.ts';
import { isAlive, signalPid, waitGone } from '../shim/proc.ts';
import type { ContainerServiceDeps } from './deps.ts';
import { commandError } from './errors.ts';
import { type ExecRequest, execProcess } from './exec.ts';
import { containerPaths } from './layout.ts';
import type { Container } from './types.ts';

/** How many of the runtime's log lines go into the error of a failed exec. */
const RUNTIME_LOG_LINES = 5;

/** Where a session's endpoints are, known before its process starts. */
export interface ExecSessionPaths {
  /** The session id: conmon's `-u`, the name of its directory and of its socket link. */
  id: string;
  dir: string;
  /** The session's CRI log. */
  logPath: string;
  /** conmon's attach socket, through the short link: stdin goes here. */
  attachSocket: string;
  /** conmon's control FIFO: window sizes (attach-ctl.ts resizeTerminal). */
  ctlPath: string;
}

export interface ExecSessionOptions {
  /**
   * Give the process a stdin (conmon `-i`) and call this once conmon's attach socket listens, before
   * the process starts (`--exec-attach`): connect to `attachSocket` here and no input is lost, however
   * soon the process ends. A rejection fails the exec.
   */
  attach?: (paths: ExecSessionPaths) => Promise<void>;
  signal?: AbortSignal;
}

/** A running exec session; `close()` it whatever happens (it kills the process if it still runs). */
export class ExecSession implements ExecSessionPaths {
  readonly id: string;
  readonly dir: string;
  readonly logPath: string;
  readonly attachSocket: string;
  readonly ctlPath: string;
  /** The exec'd process. */
  readonly pid: number;
  readonly conmonPid: number;
  readonly container: { id: string; name: string };
  readonly #exitDir: string;
  readonly #link: string;
  #closing: Promise<void> | undefined;

  constructor(
    paths: ExecSessionPaths,
    link: string,
    exitDir: string,
    container: { id: string; name: string },
    pids: { pid: number; conmonPid: number },
  ) {
    this.id = paths.id;
    this.dir = paths.dir;
    this.logPath = paths.logPath;
    this.attachSocket = paths.attachSocket;
    this.ctlPath = paths.ctlPath;
    this.#link = link;
    this.#exitDir = exitDir;
    this.container = container;
    this.pid = pids.pid;
    this.conmonPid = pids.conmonPid;
  }

  /**
   * The process's exit status (128 + the signal when killed), once conmon wrote it; conmon writes the
   * log to its end before that, so a follower of `logPath` stopped by this loses nothing.
   */
  async wait(opts: { signal?: AbortSignal } = {}): Promise<number> {
    const r = await watchExit(this.#exitDir, this.container.id, {
      conmonPid: this.conmonPid,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    if (r.kind === 'exited') return r.exitCode;
    throw new UnavailableError(
      `exec in container ${this.container.name}: conmon ${r.conmonPid} died without writing the exit status`,
    );
  }

  /** Sends `signal` to the process while it runs; false when it has ended. */
  kill(signal: NodeJS.Signals): boolean {
    if (!this.#running()) return false;
    signalPid(this.pid, signal);
    return true;
  }

  /** Kills the process if it still runs, waits for conmon to end, removes the session's files. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * The process runs while conmon has written no exit file and is still its parent: a pid is checked
   * against its parent before a signal, so a number the kernel gave to someone else is never hit.
   */
  #running(): boolean {
    return !existsSync(join(this.#exitDir, this.container.id)) && parentOf(this.pid) === this.conmonPid;
  }

  async #close(): Promise<void> {
    const killed = this.#running();
    if (killed) signalPid(this.pid, 'SIGKILL');
    // conmon reaps the process, drains the pty into the log, writes the exit file and exits.
    if (!(await waitGone(this.conmonPid, SHIM_KILL_DEADLINE_MS))) {
      signalPid(this.conmonPid, 'SIGKILL');
      if (!(await waitGone(this.conmonPid, SHIM_KILL_DEADLINE_MS))) {
        throw new InternalError(`conmon ${this.conmonPid} of exec ${this.id} did not die after SIGKILL`);
      }
    }
    if (killed && !(await waitGone(this.pid, SHIM_KILL_DEADLINE_MS))) {
      throw new InternalError(`exec ${this.id}: process ${this.pid} still alive after SIGKILL`);
    }
    await removeSessionFiles(this.dir, this.#link);
  }
}

/** Starts `req` (with a terminal when `req.tty`) in the running container `c` under conmon. */
export async function startExecSession(
  deps: ContainerServiceDeps,
  c: Container,
  req: ExecRequest,
  opts: ExecSessionOptions = {},
): Promise<ExecSession> {
  const paths = containerPaths(deps.dirs, c.id);
  const id = `exec-${randomBytes(6).toString('hex')}`;
  const dir = join(paths.bundle, id);
  const link = join(paths.socketDir, id);
  const session: ExecSessionPaths = {
    id,
    dir,
    logPath: join(dir, 'exec.log'),
    attachSocket: attachSocketPath(paths.socketDir, id),
    ctlPath: ctlFifoPath(dir),
  };
  const files = {
    spec: join(dir, 'process.json'),
    pid: join(dir, 'pid'),
    conmonPid: join(dir, 'conmon.pid'),
    exitDir: join(dir, 'exit'),
    runtimeLog: join(dir, 'runtime.log'),
  };
  const processSpec = execProcess(c, req, paths.rootfs); // req.stdio has no part: conmon gives the stdio
  const runtime = deps.runtime(c.runtime);
  const attach = opts.attach;
  await mkdir(dir, { mode: 0o700 }); // the bundle exists while the container runs
  try {
    await mkdir(paths.socketDir, { recursive: true, mode: 0o700 });
    await symlink(dir, link);
    await writeFile(files.spec, JSON.stringify(processSpec), { mode: 0o600 });
    const inv = runtime.invocation();
    const shim = await launchConmon(
      {
        id: c.id,
        uuid: id,
        name: c.name,
        runtime: { path: inv.path, args: withRuntimeLog(inv.args, files.runtimeLog) },
        bundle: dir,
        containerPidFile: files.pid,
        conmonPidFile: files.conmonPid,
        logPath: session.logPath,
        exitDir: files.exitDir,
        socketDir: paths.socketDir,
        terminal: req.tty === true,
        stdin: attach !== undefined,
        execProcessSpec: files.spec,
        execAttach: attach !== undefined,
      },
      {
        conmonPath: deps.conmonPath,
        env: { TMPDIR: link },
        // Only the exec'd process is ours to kill: the container lives on.
        forceDelete: async () => {
          const pid = await readPid(files.pid);
          if (pid !== undefined && isAlive(pid)) signalPid(pid, 'SIGKILL');
        },
        ...(attach === undefined ? {} : { beforeStart: () => attach(session) }),
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      },
    );
    return new ExecSession(session, link, files.exitDir, c, {
      pid: shim.containerPid,
      conmonPid: shim.conmonPid,
    });
  } catch (err) {
    const reason = await withRuntimeReason(err, files.runtimeLog);
    await removeSessionFiles(dir, link);
    throw commandError(reason, c.name, req.args);
  }
}

/** The runtime's invocation with its `--log` pointed at `file` (runc's global option; crun's too). */
function withRuntimeLog(args: readonly string[], file: string): string[] {
  const out = [...args];
  const at = out.lastIndexOf('--log');
  if (at >= 0 && at + 1 < out.length) out[at + 1] = file;
  else out.push('--log', file);
  return out;
}

/** A failed launch's error with what the runtime logged that conmon did not pass on. */
async function withRuntimeReason(err: unknown, logFile: string): Promise<unknown> {
  if (!(err instanceof Error) || err instanceof CanceledError) return err;
  let text: string;
  try {
    text = await readFile(logFile, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return err;
    throw e;
  }
  const said = logMessages(text).filter((m) => !err.message.includes(m.trim()));
  if (said.length === 0) return err;
  const reason = said.slice(-RUNTIME_LOG_LINES).join('; ');
  // conmon ending without a word (or with a runtime error) says nothing the runtime's log does not.
  if (err instanceof UnavailableError || err instanceof InternalError) {
    return new InternalError(`the runtime's exec failed: ${reason}`, { cause: err });
  }
  return new InternalError(`${err.message}; the runtime logged: ${reason}`, { cause: err });
}

async function removeSessionFiles(dir: string, link: string): Promise<void> {
  await rm(link, { force: true }); // the link only, not what it points to
  await rm(dir, { recursive: true, force: true });
}

/** The parent pid of `pid` (proc(5) stat field 4), or undefined when there is no such process. */
function parentOf(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ESRCH')) return undefined;
    throw err;
  }
  // "pid (comm) state ppid …"; comm may hold spaces and parentheses.
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}
