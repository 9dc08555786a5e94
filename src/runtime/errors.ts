// Turns a failed runtime call into one of berth's error classes, carrying the runtime's stderr and
// the log lines it wrote during the call. The texts matched are the runtimes' own messages, seen on
// runc 1.1.5 and crun 1.8.1 here (runc libcontainer/error.go and its callers; crun's
// libcrun/status.c and container.c); anything unrecognised becomes InternalError with the text.

import {
  AlreadyExistsError,
  type BerthError,
  FailedPreconditionError,
  InternalError,
  NotFoundError,
  UnimplementedError,
} from '../errdefs/index.ts';
import type { RunResult } from './types.ts';

/** No such container in this runtime root. */
const notFound = [
  /container does not exist/, // runc
  /error opening file `[^`]*\/status`: No such file or directory/, // crun state/kill/start
  /cannot open directory '[^']*': No such file or directory/, // crun delete
];

/** The container exists but no longer runs (the answer to a kill after it stopped). */
const notRunning = [
  /container not running/, // runc kill
  /kill container: No such process/, // crun kill
  /is not running/, // crun start/kill on a stopped container
];

const alreadyExists = [/already exists/];

/** Valid id, wrong state: start twice, delete a running container, pause a stopped one. */
const wrongState = [
  /cannot start/,
  /not stopped/,
  /cannot delete/,
  /is paused/,
  /not paused/,
  /already running/,
  /exec\.fifo`?: No such file or directory/, // crun start of a started container: its fifo is gone
  /container not running/,
  /is not running/,
];

export type RuntimeFailureKind = 'not-found' | 'not-running' | 'already-exists' | 'wrong-state' | 'other';

/** Classifies the runtime's message (pure; tested with the texts above). */
export function classifyFailure(text: string): RuntimeFailureKind {
  if (/unknown command/.test(text)) return 'other';
  if (notFound.some((re) => re.test(text))) return 'not-found';
  if (notRunning.some((re) => re.test(text))) return 'not-running';
  if (alreadyExists.some((re) => re.test(text))) return 'already-exists';
  if (wrongState.some((re) => re.test(text))) return 'wrong-state';
  return 'other';
}

/** The `msg` fields of runc/crun JSON log lines (`{"level":"error","msg":…}`), other lines as they are. */
export function logMessages(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v: unknown = JSON.parse(line);
      const msg = typeof v === 'object' && v !== null ? (v as { msg?: unknown }).msg : undefined;
      out.push(typeof msg === 'string' ? msg : line);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      out.push(line); // a line that is not JSON (a crash, a wrapper's message): keep it verbatim
    }
  }
  return out;
}

export interface FailureContext {
  runtime: string;
  op: string;
  id: string | undefined;
  result: RunResult;
  /** The runtime's log lines written during the call. */
  log: string[];
}

/** The error to throw for a failed call; the message names the runtime, operation and container. */
export function runtimeError(ctx: FailureContext): BerthError {
  const stderr = ctx.result.stderr.trim();
  const text = [stderr, ...ctx.log].join('\n');
  const what = `${ctx.runtime} ${ctx.op}${ctx.id === undefined ? '' : ` ${ctx.id}`}`;
  const status = ctx.result.code !== null ? `exit status ${ctx.result.code}` : `signal ${ctx.result.signal}`;
  const detail = stderr || ctx.log.at(-1) || status;
  const cause = new RuntimeFailure(what, ctx.result, ctx.log, classifyFailure(text));
  if (/unknown command/.test(text)) {
    return new UnimplementedError(`${what}: the runtime has no such command: ${detail}`, { cause });
  }
  switch (classifyFailure(text)) {
    case 'not-found':
      return new NotFoundError(`${what}: no such container: ${detail}`, { cause });
    case 'already-exists':
      return new AlreadyExistsError(`${what}: ${detail}`, { cause });
    case 'not-running':
    case 'wrong-state':
      return new FailedPreconditionError(`${what}: ${detail}`, { cause });
    default:
      return new InternalError(`${what} failed (${status}): ${detail}`, { cause });
  }
}

/** The raw facts of a failed call, kept as the `cause` of the typed error. */
export class RuntimeFailure extends Error {
  readonly stderr: string;
  readonly stdout: string;
  readonly exitCode: number | null;
  readonly log: string[];
  readonly kind: RuntimeFailureKind;

  constructor(what: string, result: RunResult, log: string[], kind: RuntimeFailureKind) {
    super(`${what}: ${result.stderr.trim() || log.at(-1) || 'no message'}`);
    this.kind = kind;
    this.stderr = result.stderr;
    this.stdout = result.stdout;
    this.exitCode = result.code;
    this.log = log;
  }
}
