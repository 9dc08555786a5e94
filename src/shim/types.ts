// The shim's public types. berth's shim is conmon (containers/conmon, Debian's 2.1.6): the parent of
// the container process, writer of its CRI log and of its exit file. Layer-3 neighbours import this
// file only.

/** The runtime conmon runs: an executable and its leading arguments (the runtime's RuntimeInvocation). */
export interface ShimRuntime {
  path: string;
  args: readonly string[];
}

/** What conmon needs to create and watch one container (conmon(8); conmon src/cli.c options). */
export interface ConmonSpec {
  /** `-c`: the container id the runtime knows. */
  id: string;
  /** `-u`: the id of conmon's attach directory under the socket dir; defaults to `id`. */
  uuid?: string;
  /** `-n`: the container's name, for conmon's messages; defaults to `id`. */
  name?: string;
  runtime: ShimRuntime;
  /** `-b`: the bundle directory (config.json + rootfs). */
  bundle: string;
  /** `-p`: where the runtime writes the container's pid. */
  containerPidFile: string;
  /** `-P`: where conmon writes its own (daemonised) pid. */
  conmonPidFile: string;
  /** `-l k8s-file:<path>`: the CRI log (`<RFC3339Nano> <stdout|stderr> <P|F> <text>`). */
  logPath: string;
  /** `--log-size-max`: bytes after which conmon truncates the log; unset: unlimited. */
  logSizeMax?: number;
  /** `--exit-dir`: conmon writes `<exitDir>/<id>` holding the exit status when the container exits. */
  exitDir: string;
  /** `--socket-dir-path`: where conmon links `<uuid>` → its attach socket (default /var/run/crio). */
  socketDir: string;
  /** `-0 --persist-dir`: conmon writes `exit` (and `oom`) here as well. */
  persistDir?: string;
  /** `-t`: conmon makes a console socket, passes `--console-socket` to the runtime, holds the pty. */
  terminal?: boolean;
  /** `-i`: keep a stdin pipe for attach. */
  stdin?: boolean;
  /** `--full-attach`: do not shorten the attach socket path (it ignores --socket-dir-path). */
  fullAttach?: boolean;
  /** `--no-pivot`, passed on to the runtime's create. */
  noPivot?: boolean;
  /** `--exit-command` + `--exit-command-arg`s: a program conmon runs after writing the exit file. */
  exitCommand?: { path: string; args: readonly string[] };
  /** `--exit-delay`: seconds conmon waits before running the exit command. */
  exitDelaySeconds?: number;
  /** `--log-level`: conmon's own messages (to syslog only with --syslog, which berth leaves off). */
  logLevel?: 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /**
   * `--exec --exec-process-spec`: an exec session. conmon runs `runtime exec --pid-file <-p> --process
   * <this file> --detach [--tty --console-socket …] <id>` in the running container `id` instead of
   * `create`, and becomes the parent of the new process (conmon 2.1.6 src/runtime_args.c). The other
   * fields then describe the session: `bundle` is the session's own directory (conmon makes its
   * `attach` socket and `ctl`/`winsz` FIFOs there), `containerPidFile` receives the exec'd pid, `logPath`
   * is the session's log, and `exitDir` must be the session's own: the exit file is `<exitDir>/<id>`, the
   * container's id, as for the container itself. The sync pipe carries `{"data": <exec'd pid>}`, later
   * `{"data": <exit status>}`; a failed `runtime exec` is `{"data": -1, "message": <runtime stderr>}`
   * (or nothing at all when the runtime wrote no stderr), and no exit file is written.
   */
  execProcessSpec?: string;
  /**
   * `--exec-attach` (with `execProcessSpec`): conmon writes `{"data": 0}` on the attach pipe
   * (`_OCI_ATTACHPIPE`) once its attach socket listens, and runs the runtime only after a second
   * write to the start pipe, so a client connects before the process starts (podman's exec).
   */
  execAttach?: boolean;
}

/** The result of a launch: both processes, already detached from the caller. */
export interface ShimProcess {
  id: string;
  conmonPid: number;
  containerPid: number;
}

/** How a watched container ended. */
export type ExitResult =
  | { kind: 'exited'; exitCode: number }
  /** conmon died before writing the exit file: the exit status is lost; the container may run on. */
  | { kind: 'shim-lost'; conmonPid: number };

/** The stream a CRI log record came from (conmon src/ctr_logging.c stdpipe_name). */
export type LogStream = 'stdout' | 'stderr';

/**
 * One record of the CRI log conmon writes with `-l k8s-file:PATH`: one line
 * `<RFC3339Nano> <stdout|stderr> <P|F> <text>\n` (conmon src/ctr_logging.c write_k8s_log).
 */
export interface CriLogRecord {
  /** The timestamp as written, nanoseconds and conmon's UTC offset kept: `…T10:00:00.123456789+00:00`. */
  time: string;
  stream: LogStream;
  /** `P`: the line goes on in the stream's next record; `F`: the record ends a line (its `\n` dropped). */
  partial: boolean;
  /**
   * The bytes exactly as the container wrote them, without the record's `\n`. conmon cuts records at its
   * 8 KiB read size, so a multi-byte UTF-8 character may be split between two `P` records.
   */
  text: Buffer;
}
