// The real ProcessRunner: spawns a runtime call, collects its output (bounded), and always reaps the
// child: on timeout or abort it is killed with SIGKILL and waited for before the promise settles
// (design example 8; CRI-O internal/oci/runtime_oci.go kills and waits likewise).

import { spawn } from 'node:child_process';
import { CanceledError, DeadlineExceededError, InternalError } from '../errdefs/index.ts';
import type { ProcessRunner, RunOptions, RunResult } from './types.ts';

/** Output kept per stream; runc's `ps`/`state`/`features` answers are a few KiB. */
export const MAX_CAPTURED_OUTPUT = 4 * 1024 * 1024;

function collector(): { push(b: Buffer): void; text(): string } {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    push(b) {
      if (size >= MAX_CAPTURED_OUTPUT) return;
      chunks.push(b);
      size += b.length;
    },
    text: () => Buffer.concat(chunks).subarray(0, MAX_CAPTURED_OUTPUT).toString('utf8'),
  };
}

export const childProcessRunner: ProcessRunner = {
  run(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
    const what = `${file} ${args.join(' ')}`;
    if (opts.signal?.aborted) return Promise.reject(new CanceledError(`${what}: canceled before it started`));
    return new Promise((resolve, reject) => {
      const capture = opts.stdio === undefined;
      const child = spawn(file, args, {
        stdio: capture ? [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] : [...opts.stdio!],
      });
      const out = collector();
      const err = collector();
      child.stdout?.on('data', (b: Buffer) => out.push(b));
      child.stderr?.on('data', (b: Buffer) => err.push(b));
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      let failure: Error | undefined;
      const kill = (why: Error) => {
        failure ??= why;
        child.kill('SIGKILL');
      };
      const timer = setTimeout(
        () => kill(new DeadlineExceededError(`${what}: no answer within ${opts.timeoutMs} ms; killed`)),
        opts.timeoutMs,
      );
      const onAbort = () => kill(new CanceledError(`${what}: canceled`, { cause: opts.signal?.reason }));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      let settled = false;
      const settle = (result: RunResult | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (failure !== undefined || result === undefined) reject(failure);
        else resolve(result);
      };
      child.once('error', (e) => {
        failure ??= new InternalError(`${what}: cannot run: ${e.message}`, { cause: e });
        // A child that never started emits no 'exit' (Node child_process docs, event 'error').
        if (child.pid === undefined) settle(undefined);
      });
      // 'close' waits for the pipes as well as the exit; with caller-given fds only the exit matters.
      child.once(capture ? 'close' : 'exit', (code: number | null, signal: NodeJS.Signals | null) => {
        settle({ code, signal, stdout: out.text(), stderr: err.text() });
      });
    });
  },
};
