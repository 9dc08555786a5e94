// A pure argv builder for conmon 2.1.6 (conmon(8); src/cli.c of containers/conmon v2.1.6), in the
// shape CRI-O's internal/oci/runtime_oci.go and podman's libpod/oci_conmon_linux.go use:
// api version 1 (sync-pipe messages are `{"data": N}`), cgroupfs (no -s), no syslog. The same argv
// with `--exec` starts an exec session (podman libpod/oci_conmon_exec_common.go startExec).
//
// Values are joined to their flag with `=` (`--runtime-arg=--root`): conmon parses its options with
// glib's GOptionContext, and a separate value that begins with `-` would be read as the next option.

import { InvalidArgumentError } from '../errdefs/index.ts';
import type { ConmonSpec } from './types.ts';

/** conmon's sync-pipe protocol version berth speaks (`--api-version 1`). */
export const CONMON_API_VERSION = 1;

function opt(flag: string, value: string): string {
  if (value.includes('\0')) throw new InvalidArgumentError(`conmon ${flag}: value contains a NUL byte`);
  return `${flag}=${value}`;
}

export function conmonArgs(s: ConmonSpec): string[] {
  if (s.runtime.path === '' || !s.runtime.path.startsWith('/')) {
    // conmon checks access(runtime, X_OK) against its own cwd; berth always passes an absolute path.
    throw new InvalidArgumentError(`conmon for ${s.id}: runtime path must be absolute: ${s.runtime.path}`);
  }
  const args = [
    opt('--api-version', String(CONMON_API_VERSION)),
    opt('--cid', s.id),
    opt('--cuuid', s.uuid ?? s.id),
    opt('--name', s.name ?? s.id),
    opt('--runtime', s.runtime.path),
    ...s.runtime.args.map((a) => opt('--runtime-arg', a)),
    opt('--bundle', s.bundle),
    opt('--container-pidfile', s.containerPidFile),
    opt('--conmon-pidfile', s.conmonPidFile),
    // conmon's log drivers are `k8s-file:`, `journald:`, `passthrough`; a bare path means k8s-file,
    // spelt out so a path with a colon is never read as a driver name (ctr_logging.c).
    opt('--log-path', `k8s-file:${s.logPath}`),
    opt('--exit-dir', s.exitDir),
    opt('--socket-dir-path', s.socketDir),
  ];
  if (s.logSizeMax !== undefined) args.push(opt('--log-size-max', String(s.logSizeMax)));
  if (s.persistDir !== undefined) args.push(opt('--persist-dir', s.persistDir));
  if (s.terminal === true) args.push('--terminal');
  if (s.stdin === true) args.push('--stdin');
  if (s.fullAttach === true) args.push('--full-attach');
  if (s.noPivot === true) args.push('--no-pivot');
  if (s.logLevel !== undefined) args.push(opt('--log-level', s.logLevel));
  if (s.execProcessSpec !== undefined) {
    args.push('--exec', opt('--exec-process-spec', s.execProcessSpec));
    if (s.execAttach === true) args.push('--exec-attach');
  } else if (s.execAttach === true) {
    throw new InvalidArgumentError(`conmon for ${s.id}: --exec-attach needs an exec process spec`);
  }
  if (s.exitCommand !== undefined) {
    args.push(opt('--exit-command', s.exitCommand.path));
    for (const a of s.exitCommand.args) args.push(opt('--exit-command-arg', a));
    if (s.exitDelaySeconds !== undefined) {
      if (!Number.isInteger(s.exitDelaySeconds) || s.exitDelaySeconds < 0) {
        throw new InvalidArgumentError(`conmon for ${s.id}: exit delay must be a whole number ≥ 0`);
      }
      args.push(opt('--exit-delay', String(s.exitDelaySeconds)));
    }
  }
  return args;
}
