// Exec with a terminal: conmon's exec mode holds the pty (containers/exec-session.ts, as `berth exec
// -t` uses it). Input goes to the session's attach socket — connected before the process starts, so
// no key is lost — window sizes to its control FIFO, and the output (one stream: a pty merges stdout
// and stderr) comes from following the session's own CRI log onto the client's stdout stream.

import type { Writable } from 'node:stream';
import type { ContainerService } from '../../containers/index.ts';
import { attachStdin, CriLogRenderer, readLog, resizeTerminal } from '../../shim/index.ts';
import type { CommandRunner } from './command-session.ts';
import { discard } from './forward.ts';
import type { CommandOutcome } from './remote-command.ts';
import { terminalSizes } from './remote-command.ts';
import type { ExecStreamingRequest } from './types.ts';

export function ttyExecRunner(
  containers: ContainerService,
  req: ExecStreamingRequest,
  log: (line: string) => void,
): CommandRunner {
  return async (streams, signal): Promise<CommandOutcome> => {
    const what = `exec -t in ${req.containerId}`;
    const stop = new AbortController();
    const halt = AbortSignal.any([signal, stop.signal]);
    let input: Promise<void> | undefined;
    const session = await containers.execSession(
      req.containerId,
      { args: req.cmd, tty: true },
      {
        signal,
        ...(streams.stdin === undefined
          ? {}
          : {
              attach: async (paths) => {
                let connected!: () => void;
                const ready = new Promise<void>((r) => (connected = r));
                input = attachStdin(paths.attachSocket, streams.stdin!, {
                  signal: halt,
                  onConnected: connected,
                }).catch((err: unknown) => {
                  if (!halt.aborted) log(`${what}: stdin: ${(err as Error).message}`);
                });
                await Promise.race([ready, input]);
              },
            }),
      },
    );
    try {
      if (streams.resize !== undefined) {
        const resize = streams.resize;
        void (async () => {
          for await (const size of terminalSizes(resize)) {
            if (halt.aborted) break;
            await resizeTerminal(session.ctlPath, size.height, size.width, { signal: halt }).catch(
              (err: unknown) => {
                if (!halt.aborted) log(`${what}: resize: ${(err as Error).message}`);
              },
            );
          }
        })().catch((err: unknown) => {
          if (!halt.aborted) log(`${what}: resize stream: ${(err as Error).message}`);
        });
      }
      const exited = session.wait({ signal: halt });
      exited.catch(() => undefined); // awaited below; readLog only needs to know when it settles
      const out: Writable | undefined = streams.stdout;
      const renderer = new CriLogRenderer();
      for await (const rec of readLog(session.logPath, { follow: true, until: exited, signal: halt })) {
        if (out !== undefined && !out.destroyed && !out.writableEnded) out.write(renderer.render(rec));
      }
      const code = await exited;
      return code === 0 ? { kind: 'success' } : { kind: 'exit', code, command: req.cmd };
    } finally {
      stop.abort();
      await input;
      if (streams.stdin !== undefined && !streams.stdin.readableEnded) discard(streams.stdin);
      await session.close();
    }
  };
}
