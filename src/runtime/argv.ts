// Pure argv builders for runc's command line, which crun follows (runc(8) and runc-<command>(8); crun
// --help). Nothing here touches a process or a file: each function returns the arguments after the
// executable, and the tests compare them as data (design example 6).

import { InvalidArgumentError } from '../errdefs/index.ts';
import type { CreateOptions, ExecOptions, RuntimeConfig, RuntimeInvocation } from './types.ts';

// runc libcontainer/factory_linux.go validates ids with ^[\w+-\.]+$; berth applies the same rule
// before any call, so an id can never be read as a flag or a path by either runtime.
const idPattern = /^[\w+.-]+$/;

/** Signal names as `kill -l` and runc accept them (`TERM`, `SIGKILL`, `RTMIN+3`), or a number. */
const signalPattern = /^(?:SIG)?[A-Z][A-Z0-9]*(?:[+-]\d+)?$|^\d{1,2}$/;

export function checkId(id: string): string {
  if (!idPattern.test(id) || id.startsWith('-') || id === '.' || id === '..') {
    throw new InvalidArgumentError(`container id ${JSON.stringify(id)}: must match ${idPattern.source}`);
  }
  return id;
}

export function checkSignal(signal: string): string {
  if (!signalPattern.test(signal)) {
    throw new InvalidArgumentError(`signal ${JSON.stringify(signal)}: not a signal name or number`);
  }
  return signal;
}

/**
 * Global flags: berth's own state root, a JSON log berth reads back for error messages, and the
 * cgroupfs manager (no `--systemd-cgroup`: berth writes cgroupfs paths, see src/cgroups).
 */
export function globalArgs(cfg: Pick<RuntimeConfig, 'root' | 'logFile'>): string[] {
  return ['--root', cfg.root, '--log', cfg.logFile, '--log-format', 'json'];
}

/** The executable and leading arguments for one call, the hybrid-cgroup wrapper included. */
export function invocationOf(cfg: RuntimeConfig): RuntimeInvocation {
  const [head, ...rest] = cfg.wrapper;
  if (head === undefined) return { path: cfg.binary, args: globalArgs(cfg) };
  return { path: head, args: [...rest, cfg.binary, ...globalArgs(cfg)] };
}

/** The full command line for a sub-command: `[file, args]`. */
export function commandLine(cfg: RuntimeConfig, sub: readonly string[]): RuntimeInvocation {
  const inv = invocationOf(cfg);
  return { path: inv.path, args: [...inv.args, ...sub] };
}

export function createArgs(id: string, bundle: string, opts: CreateOptions): string[] {
  const args = ['create', '--bundle', bundle, '--pid-file', opts.pidFile];
  if (opts.consoleSocket !== undefined) args.push('--console-socket', opts.consoleSocket);
  if (opts.noPivot === true) args.push('--no-pivot');
  args.push(checkId(id));
  return args;
}

export function startArgs(id: string): string[] {
  return ['start', checkId(id)];
}

export function stateArgs(id: string): string[] {
  return ['state', checkId(id)];
}

export function killArgs(id: string, signal: string, all = false): string[] {
  return ['kill', ...(all ? ['--all'] : []), checkId(id), checkSignal(signal)];
}

export function deleteArgs(id: string, force = false): string[] {
  return ['delete', ...(force ? ['--force'] : []), checkId(id)];
}

export function execArgs(id: string, processSpecPath: string, opts: ExecOptions): string[] {
  const args = ['exec', '--process', processSpecPath, '--pid-file', opts.pidFile];
  if (opts.detach) args.push('--detach');
  if (opts.tty) {
    // runc refuses --tty without a console socket when detached (runc exec.go), so insist here.
    if (opts.consoleSocket === undefined) {
      throw new InvalidArgumentError(`exec in ${id}: a tty needs a console socket`);
    }
    args.push('--tty', '--console-socket', opts.consoleSocket);
  }
  args.push(checkId(id));
  return args;
}

export function pauseArgs(id: string): string[] {
  return ['pause', checkId(id)];
}

export function resumeArgs(id: string): string[] {
  return ['resume', checkId(id)];
}

/** `update --resources FILE`: a file, since crun has no `-` for stdin (crun update --help). */
export function updateArgs(id: string, resourcesPath: string): string[] {
  return ['update', '--resources', resourcesPath, checkId(id)];
}

export function psArgs(id: string): string[] {
  return ['ps', '--format', 'json', checkId(id)];
}

export function featuresArgs(): string[] {
  return ['features'];
}
