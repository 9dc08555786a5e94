// Exec's streams: the process runs through the runtime's exec with FIFOs as its stdio
// (containers/exec-stream.ts), wired to the client's stdin / stdout / stderr streams; its exit status
// becomes the outcome on the error stream. A command that cannot be run reports the shell's codes
// (127 not found, 126 not invokable) with the message on stderr, as ExecSync does, so the client sees
// an exit code rather than a transport error. A terminal (tty) waits for conmon's exec mode.

import { ContainerCommandError } from '../../containers/errors.ts';
import { startExecStream } from '../../containers/exec-stream.ts';
import type { ContainerService } from '../../containers/index.ts';
import type { CommandRunner } from './command-session.ts';
import { discard, forward } from './forward.ts';
import type { CommandOutcome } from './remote-command.ts';
import type { ExecStreamingRequest } from './types.ts';

export function execRunner(containers: ContainerService, req: ExecStreamingRequest): CommandRunner {
  return async (streams, signal): Promise<CommandOutcome> => {
    let exec: Awaited<ReturnType<typeof startExecStream>>;
    try {
      exec = await startExecStream(containers, req.containerId, {
        args: req.cmd,
        stdin: streams.stdin !== undefined,
        stdout: streams.stdout !== undefined,
        stderr: streams.stderr !== undefined,
        signal,
      });
    } catch (err) {
      if (streams.stdin !== undefined) discard(streams.stdin);
      throw err;
    }
    if (streams.stdin !== undefined && exec.stdin !== undefined) {
      const input = streams.stdin;
      const pipe = exec.stdin;
      // A process that exits without reading its input breaks the pipe (EPIPE): drop the rest.
      pipe.on('error', () => {
        input.unpipe(pipe);
        discard(input);
      });
      input.pipe(pipe);
    }
    // Not ended here: the session ends stdout and stderr once the outcome is known (a message may
    // still go to stderr below).
    const copies: Promise<void>[] = [];
    if (exec.stdout !== undefined && streams.stdout !== undefined) {
      copies.push(forward(exec.stdout, streams.stdout, { end: false }));
    }
    if (exec.stderr !== undefined && streams.stderr !== undefined) {
      copies.push(forward(exec.stderr, streams.stderr, { end: false }));
    }
    let code: number;
    try {
      code = await exec.exited;
    } catch (err) {
      await Promise.all(copies);
      if (!(err instanceof ContainerCommandError)) throw err;
      const out = streams.stderr ?? streams.stdout;
      if (out !== undefined && !out.destroyed && !out.writableEnded) out.write(`${err.message}\n`);
      code = err.exitCode;
    } finally {
      // The process is gone: nothing more will read its input.
      if (exec.stdin !== undefined && !exec.stdin.destroyed) exec.stdin.destroy();
      if (streams.stdin !== undefined && !streams.stdin.readableEnded) discard(streams.stdin);
    }
    await Promise.all(copies);
    return code === 0 ? { kind: 'success' } : { kind: 'exit', code, command: req.cmd };
  };
}
