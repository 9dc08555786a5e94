// The OCI-runtime driver: runc's command line (runc(8)), spoken to runc or crun. Each call builds its
// argv with the pure builders of argv.ts, runs it through a ProcessRunner, and on failure throws a
// typed error carrying the runtime's stderr and the JSON log lines it wrote during the call.

import { closeSync, mkdirSync, openSync } from 'node:fs';
import { mkdir, open, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InternalError, isErrno, NotFoundError } from '../errdefs/index.ts';
import { validateState } from '../oci/runtime/index.ts';
import * as argv from './argv.ts';
import { logMessages, RuntimeFailure, runtimeError } from './errors.ts';
import { childProcessRunner } from './runner.ts';
import type {
  CallOptions,
  ContainerStdio,
  CreateOptions,
  DeleteOptions,
  ExecOptions,
  KillOptions,
  OciRuntime,
  ProcessRunner,
  RunResult,
  RuntimeConfig,
  RuntimeInvocation,
  RuntimeState,
} from './types.ts';

/** Deadline of one runtime call (state, kill, delete, …): they return in milliseconds when healthy. */
export const RUNTIME_CALL_DEADLINE_MS = 30_000;
/** Deadline of create and exec, which may mount, set up namespaces and run hooks (CRI-O: 240 s). */
export const RUNTIME_CREATE_DEADLINE_MS = 120_000;
/** The longest timer Node keeps (2^31-1 ms, ~24.8 days): "no deadline" for a call that lasts as its process. */
const NO_DEADLINE_MS = 2 ** 31 - 1;
/** How many of the runtime's log lines from the failed call go into the error. */
export const ERROR_LOG_LINES = 5;
/** At most this much of the log is read back after a failure. */
const LOG_TAIL_BYTES = 64 * 1024;

interface Call extends CallOptions {
  timeoutMs?: number;
  stdio?: ContainerStdio;
}

export class OciRuntimeDriver implements OciRuntime {
  readonly config: RuntimeConfig;
  readonly #runner: ProcessRunner;
  #ready: Promise<unknown> | undefined;

  constructor(config: RuntimeConfig, runner: ProcessRunner = childProcessRunner) {
    this.config = config;
    this.#runner = runner;
  }

  /** For a shim that runs the runtime itself; makes the root and log directories it will need. */
  invocation(): RuntimeInvocation {
    mkdirSync(this.config.root, { recursive: true, mode: 0o700 });
    mkdirSync(dirname(this.config.logFile), { recursive: true, mode: 0o700 });
    return argv.invocationOf(this.config);
  }

  async create(id: string, bundle: string, opts: CreateOptions & CallOptions): Promise<void> {
    // crun reports a missing bundle on stderr before its log is open; the container's stdio is not
    // ours to read (see ContainerStdio), so check the bundle here and name it.
    await stat(join(bundle, 'config.json')).catch((err: unknown) => {
      if (isErrno(err, 'ENOENT')) throw new NotFoundError(`bundle ${bundle}: no config.json`, { cause: err });
      throw err;
    });
    const args = argv.createArgs(id, bundle, opts);
    await this.#call('create', id, args, {
      ...opts,
      timeoutMs: RUNTIME_CREATE_DEADLINE_MS,
      stdio: opts.stdio ?? {},
    });
  }

  async start(id: string, opts: CallOptions = {}): Promise<void> {
    await this.#call('start', id, argv.startArgs(id), opts);
  }

  async state(id: string, opts: CallOptions = {}): Promise<RuntimeState> {
    const r = await this.#call('state', id, argv.stateArgs(id), opts);
    const what = `${this.config.name} state ${id}`;
    const doc = parseJson(r.stdout, what);
    // runc and crun print status "paused" (runc libcontainer/container_linux.go Paused), outside the
    // spec's enum: validate it as running and say so in `paused`.
    const paused =
      typeof doc === 'object' && doc !== null && (doc as { status?: unknown }).status === 'paused';
    const state = validateState(paused ? { ...(doc as object), status: 'running' } : doc, what);
    return { ...state, paused };
  }

  /**
   * Signals the container. Killing one that has already stopped succeeds, as containerd's shim treats
   * runc's "container not running" (the signal's purpose is met); a missing container is NotFound.
   */
  async kill(id: string, signal: string, opts: KillOptions & CallOptions = {}): Promise<void> {
    try {
      await this.#call('kill', id, argv.killArgs(id, signal, opts.all), opts);
    } catch (err) {
      if (err instanceof Error && err.cause instanceof RuntimeFailure && err.cause.kind === 'not-running')
        return;
      throw err;
    }
  }

  async delete(id: string, opts: DeleteOptions & CallOptions = {}): Promise<void> {
    await this.#call('delete', id, argv.deleteArgs(id, opts.force), opts);
  }

  async exec(
    id: string,
    processSpecPath: string,
    opts: ExecOptions & CallOptions,
  ): Promise<number | undefined> {
    const args = argv.execArgs(id, processSpecPath, opts);
    // A detached exec returns once the process started; one that is not lasts as long as the process
    // does (a streaming session, ExecSync without a timeout): only the caller's signal ends it.
    const call = {
      ...opts,
      timeoutMs: opts.detach ? RUNTIME_CREATE_DEADLINE_MS : NO_DEADLINE_MS,
      stdio: opts.stdio ?? {},
    };
    if (opts.detach) {
      await this.#call('exec', id, args, call);
      return undefined;
    }
    // Not detached, the runtime's exit status is the process's: only a logged error means it failed.
    const r = await this.#call('exec', id, args, { ...call, allowExit: true });
    return r.code ?? 128;
  }

  async pause(id: string, opts: CallOptions = {}): Promise<void> {
    await this.#call('pause', id, argv.pauseArgs(id), opts);
  }

  async resume(id: string, opts: CallOptions = {}): Promise<void> {
    await this.#call('resume', id, argv.resumeArgs(id), opts);
  }

  async update(id: string, resourcesJson: string, opts: CallOptions = {}): Promise<void> {
    parseJson(resourcesJson, `resources for ${id}`);
    await this.#prepare();
    const file = join(
      dirname(this.config.logFile),
      `update-${argv.checkId(id)}-${process.pid}-${Date.now()}.json`,
    );
    await writeFile(file, resourcesJson, { mode: 0o600, flag: 'wx' });
    try {
      await this.#call('update', id, argv.updateArgs(id, file), opts);
    } finally {
      await rm(file, { force: true });
    }
  }

  async ps(id: string, opts: CallOptions = {}): Promise<number[]> {
    const r = await this.#call('ps', id, argv.psArgs(id), opts);
    const v = parseJson(r.stdout, `${this.config.name} ps ${id}`);
    if (v === null) return []; // runc prints null for an empty list (Go's nil slice)
    if (!Array.isArray(v) || !v.every((p) => Number.isInteger(p))) {
      throw new InternalError(
        `${this.config.name} ps ${id}: expected a JSON array of pids, got ${r.stdout.slice(0, 200)}`,
      );
    }
    return v as number[];
  }

  async features(opts: CallOptions = {}): Promise<Record<string, unknown>> {
    const r = await this.#call('features', undefined, argv.featuresArgs(), opts);
    const v = parseJson(r.stdout, `${this.config.name} features`);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new InternalError(`${this.config.name} features: expected a JSON object`);
    }
    return v as Record<string, unknown>;
  }

  /** Creates the runtime root and log directory once (0700: runc's own choice for its root). */
  #prepare(): Promise<unknown> {
    this.#ready ??= Promise.all([
      mkdir(this.config.root, { recursive: true, mode: 0o700 }),
      mkdir(dirname(this.config.logFile), { recursive: true, mode: 0o700 }),
    ]);
    return this.#ready;
  }

  async #call(op: string, id: string | undefined, sub: string[], opts: Call & { allowExit?: boolean }) {
    await this.#prepare();
    const logStart = await sizeOf(this.config.logFile);
    const inv = argv.commandLine(this.config, sub);
    const fds = opts.stdio === undefined ? undefined : openStdio(opts.stdio);
    let result: RunResult;
    try {
      result = await this.#runner.run(inv.path, inv.args, {
        timeoutMs: opts.timeoutMs ?? RUNTIME_CALL_DEADLINE_MS,
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
        ...(fds === undefined ? {} : { stdio: fds.fds }),
      });
    } finally {
      fds?.close();
    }
    if (result.code === 0) return result;
    const log = await readLogSince(this.config.logFile, logStart);
    if (opts.allowExit === true && result.code !== null && log.length === 0) return result;
    throw runtimeError({ runtime: this.config.name, op, id, result, log: log.slice(-ERROR_LOG_LINES) });
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InternalError(`${what}: not JSON: ${text.slice(0, 200)}`, { cause: err });
  }
}

/** The caller's fds, with /dev/null opened for the ones not given (closed again after the call). */
function openStdio(s: ContainerStdio): { fds: [number, number, number]; close(): void } {
  const opened: number[] = [];
  const nul = (flags: string) => {
    const fd = openSync('/dev/null', flags);
    opened.push(fd);
    return fd;
  };
  const fds: [number, number, number] = [s.stdin ?? nul('r'), s.stdout ?? nul('w'), s.stderr ?? nul('w')];
  return {
    fds,
    close: () => {
      for (const fd of opened) closeSync(fd);
    },
  };
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 0;
    throw err;
  }
}

/** The messages the runtime logged after byte `start` (bounded to the last LOG_TAIL_BYTES). */
async function readLogSince(file: string, start: number): Promise<string[]> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    const from = Math.max(start, size - LOG_TAIL_BYTES);
    const buf = Buffer.alloc(Math.max(0, size - from));
    await fh.read(buf, 0, buf.length, from);
    return logMessages(buf.toString('utf8'));
  } finally {
    await fh.close();
  }
}
