// A process in a running container with its stdio as streams, for the CRI's streaming Exec (no
// terminal). Like ExecSync (exec-sync.ts), the runtime's `exec` gets FIFOs in the bundle as the
// process's stdio (runc and crun pass their own stdio through to the process); here berth reads and
// writes them as they go instead of collecting the output.
//
// stdin is a FIFO too, and its read end, which the process gets, must be blocking: a process handed
// an O_NONBLOCK stdin fails its reads with EAGAIN. An open for reading blocks until there is a writer,
// so the order is: read end non-blocking (returns at once), our write end, then the read end again,
// blocking (returns at once: a writer exists), and the non-blocking one closed. When our write end
// closes, the process reads EOF.
//
// After the process exits, output still in the pipes is read to its end; a background child that
// inherited stdout and keeps it open would hold the session forever, so the pipes are cut
// EXEC_OUTPUT_DRAIN_MS after the exit.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { ContainerStdio } from '../runtime/types.ts';
import type { ContainerServiceDeps } from './deps.ts';
import { commandError } from './errors.ts';
import { type ExecRequest, execProcess, killExecProcess } from './exec.ts';
import { containerPaths } from './layout.ts';
import type { ContainerService } from './service.ts';
import { mustBeRunning } from './status.ts';
import type { Container } from './types.ts';

const run = promisify(execFile);

/** How long output is still read after the process exited (see the file comment). */
export const EXEC_OUTPUT_DRAIN_MS = 2000;

export interface ExecStreamRequest extends Omit<ExecRequest, 'stdio' | 'tty'> {
  /** Give the process a stdin that `ExecStream.stdin` writes to (else /dev/null). */
  stdin?: boolean;
  /** Read the process's stdout (else /dev/null). */
  stdout?: boolean;
  /** Read the process's stderr (else /dev/null). */
  stderr?: boolean;
}

export interface ExecStream {
  /** The process's stdin: end it to give the process EOF. */
  stdin?: Writable;
  stdout?: Readable;
  stderr?: Readable;
  /**
   * The exit status once the process has exited and its output has been read (or cut). Rejects with
   * a ContainerCommandError (126/127) when the command cannot be run, and with the runtime's error
   * otherwise. Aborting `signal` kills the process.
   */
  exited: Promise<number>;
}

/** Starts `req` in the running container `key` (id, name or prefix). */
export async function startExecStream(
  containers: ContainerService,
  key: string,
  req: ExecStreamRequest,
): Promise<ExecStream> {
  const c = await containers.get(key);
  mustBeRunning(c, 'exec');
  return execStream(containers.deps, c, req);
}

export async function execStream(
  deps: ContainerServiceDeps,
  c: Container,
  req: ExecStreamRequest,
): Promise<ExecStream> {
  const paths = containerPaths(deps.dirs, c.id);
  const tag = randomBytes(6).toString('hex');
  const base = join(paths.bundle, `exec-${tag}`);
  const fifos = {
    stdin: req.stdin === true ? `${base}.in` : undefined,
    stdout: req.stdout === true ? `${base}.out` : undefined,
    stderr: req.stderr === true ? `${base}.err` : undefined,
  };
  const fifoPaths = Object.values(fifos).filter((f) => f !== undefined);
  const specFile = `${base}.json`;
  const pidFile = `${base}.pid`;
  /** Descriptors the runtime gets; ours to close once it has them. */
  const childFds: number[] = [];
  const sockets: Socket[] = [];
  const removeFiles = () => Promise.all([...fifoPaths, specFile, pidFile].map((f) => rm(f, { force: true })));
  try {
    if (fifoPaths.length > 0) await run('mkfifo', ['-m', '0600', ...fifoPaths]);
    const stdio: ContainerStdio = {};
    let stdin: Socket | undefined;
    if (fifos.stdin !== undefined) {
      const probe = openSync(fifos.stdin, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        const writeFd = openSync(fifos.stdin, constants.O_WRONLY);
        stdin = new Socket({ fd: writeFd, readable: false, writable: true });
        sockets.push(stdin);
        stdio.stdin = openSync(fifos.stdin, constants.O_RDONLY);
        childFds.push(stdio.stdin);
      } finally {
        closeSync(probe);
      }
    }
    const output = (path: string | undefined): { socket?: Socket; fd?: number } => {
      if (path === undefined) return {};
      // Read end first, non-blocking (it opens without a writer), then the runtime's blocking write end.
      const socket = new Socket({
        fd: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK),
        readable: true,
        writable: false,
      });
      sockets.push(socket);
      const fd = openSync(path, constants.O_WRONLY);
      childFds.push(fd);
      return { socket, fd };
    };
    const out = output(fifos.stdout);
    const err = output(fifos.stderr);
    if (out.fd !== undefined) stdio.stdout = out.fd;
    if (err.fd !== undefined) stdio.stderr = err.fd;
    await writeFile(specFile, JSON.stringify(execProcess(c, { ...req, tty: false }, paths.rootfs)), {
      mode: 0o600,
    });
    const runtimeExit = deps
      .runtime(c.runtime)
      .exec(c.id, specFile, {
        detach: false,
        tty: false,
        pidFile,
        stdio,
        ...(req.signal === undefined ? {} : { signal: req.signal }),
      })
      .then((code) => code ?? 0);
    // Ours stay open until the runtime has exited: it spawns after some awaits of its own. The
    // output FIFOs reach EOF only after that (as in exec-sync.ts).
    const held = childFds.splice(0);
    const closeHeld = () => {
      for (const fd of held.splice(0)) closeSync(fd);
    };
    const exited = finish(runtimeExit.finally(closeHeld), [out.socket, err.socket], c, req, pidFile).finally(
      removeFiles,
    );
    return {
      ...(stdin === undefined ? {} : { stdin }),
      ...(out.socket === undefined ? {} : { stdout: out.socket }),
      ...(err.socket === undefined ? {} : { stderr: err.socket }),
      exited,
    };
  } catch (e) {
    for (const fd of childFds) closeSync(fd);
    for (const s of sockets) s.destroy();
    await removeFiles();
    throw e;
  }
}

/** Waits for the process, then for its output to be read (at most EXEC_OUTPUT_DRAIN_MS more). */
async function finish(
  runtimeExit: Promise<number>,
  outputs: (Socket | undefined)[],
  c: Container,
  req: ExecStreamRequest,
  pidFile: string,
): Promise<number> {
  let code: number;
  try {
    code = await runtimeExit;
  } catch (e) {
    // Aborted (the client went away) or the runtime failed: the runtime was killed, but the process it
    // started may live on in the container; kill it as containerd's exec does on cancellation.
    await killExecProcess(pidFile);
    for (const s of outputs) s?.destroy();
    throw commandError(e, c.name, req.args);
  }
  const open = outputs.filter((s) => s !== undefined && !s.destroyed);
  const drained = Promise.allSettled(open.map((s) => finished(s!)));
  const timer = setTimeout(() => {
    for (const s of open) s!.destroy();
  }, EXEC_OUTPUT_DRAIN_MS);
  try {
    await drained;
  } finally {
    clearTimeout(timer);
  }
  return code;
}
