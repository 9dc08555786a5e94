// The OCI-runtime driver's public types: what berth asks of runc or crun through runc's command line
// (runtime-spec runtime.md "Operations", runc(8) and its sub-command pages). Layer-3 neighbours (the
// shim) import this file only; the implementation stays behind `OciRuntime`.

import type { State } from '../oci/runtime/index.ts';

/** The runtimes berth knows by name (`--runtime runc|crun`). */
export const runtimeNames = ['runc', 'crun'] as const;
export type RuntimeName = (typeof runtimeNames)[number];

/**
 * How to start one runtime: the binary, berth's own state dir for it (`--root`, so berth's containers
 * never mix with those of /run/runc), its log file, and a prefix that wraps every call (the hybrid
 * cgroup fix for crun, see crun-hybrid.ts). Plain data, so the shim can hand it to conmon.
 */
export interface RuntimeConfig {
  name: RuntimeName;
  /** Absolute path of the runtime executable. */
  binary: string;
  /** The runtime's state directory (`--root`). */
  root: string;
  /** The runtime's own log (`--log`, JSON lines), read back for error messages. */
  logFile: string;
  /** argv placed before `binary` on every call (empty: call the binary directly). */
  wrapper: readonly string[];
}

/** An executable plus its leading arguments: what conmon gets as `-r` and `--runtime-arg`s. */
export interface RuntimeInvocation {
  path: string;
  args: string[];
}

/**
 * File descriptors the container's process gets as stdin, stdout and stderr. runc and crun hand their
 * own stdio to the process they create (runc "pass-through" I/O), so these are given to the runtime
 * itself and berth reads the runtime's errors from its JSON log instead. Default: /dev/null.
 */
export interface ContainerStdio {
  stdin?: number;
  stdout?: number;
  stderr?: number;
}

export interface CreateOptions {
  pidFile: string;
  consoleSocket?: string;
  noPivot?: boolean;
  stdio?: ContainerStdio;
}

export interface ExecOptions {
  detach: boolean;
  pidFile: string;
  tty: boolean;
  consoleSocket?: string;
  stdio?: ContainerStdio;
}

export interface KillOptions {
  /** Signal every process of the container (`--all`), not only its init. */
  all?: boolean;
}

export interface DeleteOptions {
  /** Kill a running container first (`delete --force`). */
  force?: boolean;
}

/** Every blocking call takes an AbortSignal (design example 7). */
export interface CallOptions {
  signal?: AbortSignal;
}

/**
 * runtime-spec State, plus runc's and crun's `paused` (which the spec's status enum lacks): a paused
 * container is reported as status `running` with `paused: true`.
 */
export interface RuntimeState extends State {
  paused: boolean;
}

/** The operations of runtime-spec runtime.md plus runc's extensions berth uses. */
export interface OciRuntime {
  readonly config: RuntimeConfig;
  /** The executable and global flags, for a shim that runs the runtime itself. */
  invocation(): RuntimeInvocation;
  create(id: string, bundle: string, opts: CreateOptions & CallOptions): Promise<void>;
  start(id: string, opts?: CallOptions): Promise<void>;
  state(id: string, opts?: CallOptions): Promise<RuntimeState>;
  /** Sends `signal` (`TERM`, `KILL`, `SIGUSR1`, `9`). A container that has already stopped is fine. */
  kill(id: string, signal: string, opts?: KillOptions & CallOptions): Promise<void>;
  delete(id: string, opts?: DeleteOptions & CallOptions): Promise<void>;
  /** Resolves to the process's exit status when not detached, undefined when detached. */
  exec(id: string, processSpecPath: string, opts: ExecOptions & CallOptions): Promise<number | undefined>;
  pause(id: string, opts?: CallOptions): Promise<void>;
  resume(id: string, opts?: CallOptions): Promise<void>;
  /** `resourcesJson` is a runtime-spec `linux.resources` document. */
  update(id: string, resourcesJson: string, opts?: CallOptions): Promise<void>;
  ps(id: string, opts?: CallOptions): Promise<number[]>;
  /** runtime-spec features.md; UnimplementedError from runtimes without the command (crun 1.8). */
  features(opts?: CallOptions): Promise<Record<string, unknown>>;
}

/** The outcome of one runtime process, whatever its exit status. */
export interface RunResult {
  /** Exit status, or null when killed by a signal. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Data for the child's stdin (`update -r -`). */
  input?: string;
  /** Kill the child after this long (ms). */
  timeoutMs: number;
  /**
   * Give the child these fds as stdin/stdout/stderr instead of capturing its output (the result's
   * stdout and stderr are then empty), and settle when it exits: a container created by it may hold
   * them open for its whole life.
   */
  stdio?: readonly [number, number, number];
}

/** Runs a program to completion: the one seam between the driver and real processes. */
export interface ProcessRunner {
  run(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult>;
}
