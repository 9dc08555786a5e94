// `berth exec`: a new process in a running container, through the runtime's `exec` with a process
// spec file (runtime-spec config.md "process"), as containerd's shim and CRI-O do. The process gets
// the container's process settings (capabilities, rlimits, noNewPrivileges, apparmor/selinux label),
// with the request's args, env, working dir and user. Without a terminal the caller's file
// descriptors are handed to the runtime, which passes them through to the process: output streams
// straight to the person's terminal and the exit status is the process's own. With a terminal the
// runtime needs a console socket that receives the pty's fd, which Node cannot take: conmon does it,
// in an exec session (exec-session.ts).

import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errdefs/index.ts';
import type { Process } from '../oci/runtime/index.ts';
import type { ContainerStdio } from '../runtime/types.ts';
import { readPid, signalPid } from '../shim/index.ts';
import { mergeEnv, resolveUser } from '../spec/index.ts';
import type { ContainerServiceDeps } from './deps.ts';
import { commandError } from './errors.ts';
import { containerPaths } from './layout.ts';
import type { Container } from './types.ts';

export interface ExecRequest {
  args: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  tty?: boolean;
  /** With `tty`: the terminal's size when the process starts (runtime-spec process.consoleSize). */
  consoleSize?: { height: number; width: number };
  stdio?: ContainerStdio;
  signal?: AbortSignal;
}

export function execProcess(c: Container, req: ExecRequest, rootfs: string): Process {
  const base = c.spec?.process;
  if (base === undefined) throw new InvalidArgumentError(`container ${c.name}: has no process spec`);
  if (req.args.length === 0) throw new InvalidArgumentError('exec: no command given');
  const tty = req.tty === true;
  const process: Process = { ...base, args: [...req.args], terminal: tty };
  delete process.consoleSize;
  if (req.env !== undefined) process.env = mergeEnv(base.env ?? [], req.env);
  if (tty) {
    // runc and crun size the pty before the process starts: no resize can race its first output.
    if (req.consoleSize !== undefined) {
      process.consoleSize = { height: req.consoleSize.height, width: req.consoleSize.width };
    }
    // As spec withTTY does for `run -t` (docker and podman exec -t do the same).
    const env = process.env ?? [];
    if (!env.some((e) => e.startsWith('TERM='))) process.env = [...env, 'TERM=xterm'];
  }
  if (req.workingDir !== undefined) {
    if (!req.workingDir.startsWith('/')) {
      throw new InvalidArgumentError(`working directory ${JSON.stringify(req.workingDir)}: must be absolute`);
    }
    process.cwd = req.workingDir;
  }
  if (req.user !== undefined) {
    const u = resolveUser(rootfs, req.user);
    process.user = {
      uid: u.uid,
      gid: u.gid,
      ...(u.additionalGids.length > 0 ? { additionalGids: u.additionalGids } : {}),
    };
  }
  return process;
}

export async function execInContainer(
  deps: ContainerServiceDeps,
  c: Container,
  req: ExecRequest,
): Promise<number> {
  if (req.tty === true) {
    throw new InvalidArgumentError('exec with a terminal runs in an exec session', {
      hint: 'use ContainerService.execSession (berth exec -t)',
    });
  }
  const paths = containerPaths(deps.dirs, c.id);
  const tag = randomBytes(6).toString('hex');
  const file = join(paths.bundle, `exec-${tag}.json`);
  const pidFile = join(paths.bundle, `exec-${tag}.pid`);
  await writeFile(file, JSON.stringify(execProcess(c, req, paths.rootfs)), { mode: 0o600 });
  try {
    const code = await deps.runtime(c.runtime).exec(c.id, file, {
      detach: false,
      tty: false,
      pidFile,
      ...(req.stdio === undefined ? {} : { stdio: req.stdio }),
      ...(req.signal === undefined ? {} : { signal: req.signal }),
    });
    return code ?? 0;
  } catch (err) {
    throw commandError(err, c.name, req.args);
  } finally {
    await rm(file, { force: true });
    await rm(pidFile, { force: true });
  }
}

/** SIGKILLs the exec'd process named by the runtime's pid file, if it got one and still runs. */
export async function killExecProcess(pidFile: string): Promise<void> {
  const pid = await readPid(pidFile);
  if (pid !== undefined) signalPid(pid, 'SIGKILL');
}
