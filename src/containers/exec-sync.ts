// ExecSync (CRI): run a command in a running container and return its exit code and output. The
// output is read through two FIFOs in the bundle, handed to the runtime's exec as the process's
// stdout and stderr, and kept only up to a cap: a command printing gigabytes must not exhaust
// berth's memory (CVE-2022-31030, containerd's CRI ExecSync). Bytes past the cap are read and
// dropped, so the process is never blocked on a full pipe. On timeout the exec'd process is killed
// (its pid from the runtime's pid file) and the call reports it.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeadlineExceededError } from '../errdefs/index.ts';
import type { ContainerServiceDeps } from './deps.ts';
import { commandError } from './errors.ts';
import { type ExecRequest, execProcess, killExecProcess } from './exec.ts';
import { containerPaths } from './layout.ts';
import type { Container } from './types.ts';

const run = promisify(execFile);

/** The most output kept per stream (CRI-O and containerd keep 16 MiB). */
export const EXEC_SYNC_MAX_OUTPUT = 16 * 1024 * 1024;

export interface ExecSyncResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  /** True when a stream passed the cap and was cut. */
  truncated: boolean;
}

/** Reads a FIFO's bytes up to `max`, draining (and dropping) the rest until the writers close it. */
function collect(fd: number, max: number): { done: Promise<Buffer>; truncated: () => boolean } {
  const chunks: Buffer[] = [];
  let size = 0;
  let cut = false;
  const socket = new Socket({ fd, readable: true, writable: false });
  const done = new Promise<Buffer>((resolve, reject) => {
    socket.on('data', (b: Buffer) => {
      if (size >= max) {
        cut = true;
        return;
      }
      const keep = b.subarray(0, max - size);
      if (keep.length < b.length) cut = true;
      chunks.push(keep);
      size += keep.length;
    });
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
  return { done, truncated: () => cut };
}

export async function execSync(
  deps: ContainerServiceDeps,
  c: Container,
  req: Omit<ExecRequest, 'stdio' | 'tty'> & { timeoutMs?: number; maxOutput?: number },
): Promise<ExecSyncResult> {
  const paths = containerPaths(deps.dirs, c.id);
  const tag = randomBytes(6).toString('hex');
  const fifos = [join(paths.bundle, `exec-${tag}.out`), join(paths.bundle, `exec-${tag}.err`)];
  await run('mkfifo', ['-m', '0600', ...fifos]);
  const opened: number[] = [];
  try {
    // Read ends first and non-blocking (an open for reading would wait for a writer), then the
    // write ends, which then open at once; ours are closed as soon as the runtime holds them.
    const readFds = fifos.map((f) => openSync(f, constants.O_RDONLY | constants.O_NONBLOCK));
    opened.push(...readFds);
    const writeFds = fifos.map((f) => openSync(f, constants.O_WRONLY));
    opened.push(...writeFds);
    const max = req.maxOutput ?? EXEC_SYNC_MAX_OUTPUT;
    const out = collect(readFds[0]!, max);
    const err = collect(readFds[1]!, max);
    opened.splice(0, 2); // the sockets own the read ends now
    const pidFile = join(paths.bundle, `exec-${tag}.pid`);
    const specFile = join(paths.bundle, `exec-${tag}.json`);
    await writeFile(specFile, JSON.stringify(execProcess(c, { ...req, tty: false }, paths.rootfs)), {
      mode: 0o600,
    });
    // On timeout the exec'd process is killed, not `runc exec`: runc is its parent and reaps it. Killing
    // runc first would orphan the process into the container's PID namespace, where an init that
    // does not reap (critest's `top`) leaves it a zombie that `pgrep` still lists.
    let timedOut = false;
    const timer =
      req.timeoutMs !== undefined && req.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            killExecProcess(pidFile).catch((err: unknown) => {
              process.stderr.write(`berth: exec timeout in ${c.name}: ${String(err)}\n`);
            });
          }, req.timeoutMs)
        : undefined;
    let exitCode: number;
    try {
      exitCode =
        (await deps.runtime(c.runtime).exec(c.id, specFile, {
          detach: false,
          tty: false,
          pidFile,
          stdio: { stdout: writeFds[0]!, stderr: writeFds[1]! },
          ...(req.signal === undefined ? {} : { signal: req.signal }),
        })) ?? 0;
      if (timedOut) {
        throw new DeadlineExceededError(`exec in container ${c.name}: timed out after ${req.timeoutMs} ms`);
      }
    } catch (e) {
      if (e instanceof DeadlineExceededError) throw e;
      throw commandError(e, c.name, req.args);
    } finally {
      clearTimeout(timer);
      for (const fd of writeFds) closeSync(fd);
      opened.splice(0);
      await rm(specFile, { force: true });
      await rm(pidFile, { force: true });
    }
    const [stdout, stderr] = await Promise.all([out.done, err.done]);
    return { exitCode, stdout, stderr, truncated: out.truncated() || err.truncated() };
  } finally {
    for (const fd of opened) closeSync(fd);
    await Promise.all(fifos.map((f) => rm(f, { force: true })));
  }
}
