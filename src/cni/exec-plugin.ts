// Running one plugin binary (CNI spec section 2 "Execution Protocol"): parameters in the environment,
// the request configuration on stdin, the result (or an error object) on stdout, logs on stderr, exit
// status 0 for success. The child is always reaped before the promise settles: on the deadline or an
// abort it is killed with SIGKILL and waited for (design example 8), so a hung plugin cannot outlive
// the call that started it. Output is bounded: a plugin printing without end cannot exhaust memory.

import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CanceledError, DeadlineExceededError, InternalError, isErrno } from '../errdefs/index.ts';
import { cniError } from './errors.ts';
import type { CniCommand, CniErrorInfo } from './types.ts';

/** Most a plugin may print on stdout; results are a few KiB. */
export const MAX_PLUGIN_STDOUT = 4 * 1024 * 1024;
/** The tail of stderr kept for error messages. */
export const MAX_PLUGIN_STDERR = 64 * 1024;
/** libcni retries an exec that fails with ETXTBSY (the binary is being replaced) this often. */
const TEXT_BUSY_RETRIES = 5;

export interface PluginCall {
  /** Absolute path of the plugin. */
  path: string;
  /** The plugin's type, for messages. */
  type: string;
  command: CniCommand;
  /** The complete environment of the child (see client.ts for what it holds). */
  env: Record<string, string>;
  stdin: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

interface Output {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function spawnOnce(call: PluginCall): Promise<Output> {
  const what = `cni plugin ${call.type} ${call.command}`;
  return new Promise((resolve, reject) => {
    const child = spawn(call.path, [], { env: call.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outSize = 0;
    let err = Buffer.alloc(0);
    let failure: Error | undefined;
    const kill = (why: Error) => {
      failure ??= why;
      child.kill('SIGKILL');
    };
    child.stdout.on('data', (b: Buffer) => {
      outSize += b.length;
      if (outSize > MAX_PLUGIN_STDOUT)
        kill(new InternalError(`${what}: more than ${MAX_PLUGIN_STDOUT} bytes on stdout; killed`));
      else out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      err = Buffer.concat([err, b]);
      if (err.length > MAX_PLUGIN_STDERR) err = err.subarray(err.length - MAX_PLUGIN_STDERR);
    });
    // A plugin that exits without reading stdin closes the pipe: EPIPE here is not the failure.
    child.stdin.on('error', (e) => {
      if (!isErrno(e, 'EPIPE')) failure ??= e;
    });
    child.stdin.end(call.stdin);
    const timer = setTimeout(
      () => kill(new DeadlineExceededError(`${what}: no answer within ${call.timeoutMs} ms; killed`)),
      call.timeoutMs,
    );
    const onAbort = () => kill(new CanceledError(`${what}: canceled`, { cause: call.signal?.reason }));
    call.signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    const settle = (result: Output | undefined, spawnError?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onAbort);
      if (spawnError !== undefined) reject(spawnError);
      else if (failure !== undefined || result === undefined) reject(failure);
      else resolve(result);
    };
    child.once('error', (e) => {
      // A child that never started emits no 'close' (Node child_process docs, event 'error').
      if (child.pid === undefined) settle(undefined, e);
      else failure ??= e;
    });
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      settle({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: err.toString('utf8') });
    });
  });
}

/** The plugin's error object from stdout (section 5), else from stderr (older plugins), else none. */
export function parseErrorOutput(stdout: string, stderr: string): Partial<CniErrorInfo> | undefined {
  for (const text of [stdout, stderr]) {
    const t = text.trim();
    if (!t.startsWith('{')) continue;
    try {
      const doc = JSON.parse(t) as Record<string, unknown>;
      if (typeof doc.msg !== 'string' && typeof doc.code !== 'number') continue;
      return {
        ...(typeof doc.code === 'number' ? { code: doc.code } : {}),
        msg: typeof doc.msg === 'string' ? doc.msg : '',
        ...(typeof doc.details === 'string' ? { details: doc.details } : {}),
      };
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
    }
  }
  return undefined;
}

/** Waits `ms`, or throws CanceledError when the call's signal aborts first. */
async function pause(ms: number, call: PluginCall): Promise<void> {
  try {
    await sleep(ms, undefined, call.signal === undefined ? {} : { signal: call.signal });
  } catch (err) {
    if (err instanceof Error && err.name === 'AbortError') {
      throw new CanceledError(`cni plugin ${call.type} ${call.command}: canceled`, { cause: err });
    }
    throw err;
  }
}

/** Runs the plugin; resolves to its stdout on exit 0, else throws the typed CNI error. */
export async function execPlugin(call: PluginCall): Promise<string> {
  if (call.signal?.aborted) {
    throw new CanceledError(`cni plugin ${call.type} ${call.command}: canceled before it started`, {
      cause: call.signal.reason,
    });
  }
  let output: Output | undefined;
  for (let attempt = 0; output === undefined; attempt++) {
    try {
      output = await spawnOnce(call);
    } catch (err) {
      if (!isErrno(err, 'ETXTBSY') || attempt >= TEXT_BUSY_RETRIES) {
        if (err instanceof Error && (err as NodeJS.ErrnoException).syscall?.startsWith('spawn')) {
          throw new InternalError(`cni plugin ${call.type}: cannot run ${call.path}: ${err.message}`, {
            cause: err,
          });
        }
        throw err;
      }
      await pause(50 * 2 ** attempt, call);
    }
  }
  if (output.code === 0) return output.stdout;
  const parsed = parseErrorOutput(output.stdout, output.stderr);
  const stderr = output.stderr.trim();
  const info: CniErrorInfo = {
    plugin: call.type,
    command: call.command,
    msg:
      parsed?.msg ||
      (output.signal === null ? `exit status ${output.code}` : `killed by ${output.signal}`) +
        (stderr === '' ? '' : `: ${stderr.split('\n').at(-1)}`),
    ...(parsed?.code === undefined ? {} : { code: parsed.code }),
    ...(parsed?.details === undefined ? {} : { details: parsed.details }),
    ...(stderr === '' ? {} : { stderr }),
  };
  throw cniError(info);
}
