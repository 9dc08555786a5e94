import { Command } from 'commander';
import type { ExecRequest } from '../../containers/index.ts';
import { CanceledError } from '../../errdefs/index.ts';
import { type ContainerInput, connectInput } from '../container-input.ts';
import { followLog } from '../container-output.ts';
import { ExitStatus } from '../exit-codes.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';
import { openContainerServices } from '../lazy.ts';
import type { ContainerServices } from '../services.ts';

const collect = (v: string, prev: string[]) => [...prev, v];

/** Signals berth passes on to the exec'd process while it runs with a terminal (docker's sig-proxy). */
const forwarded: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * `berth exec CTR CMD…`: without -t the runtime hands berth's own stdin, stdout and stderr to the new
 * process, so its output streams straight through and berth exits with its status (127 when the
 * command is not found, as docker exec does). With -t the process gets a pty held by conmon (an exec
 * session): berth prints the session's log, feeds its stdin (-i) to conmon's attach socket with its
 * terminal in raw mode, passes window sizes on, and exits with the status conmon recorded.
 */
export function execCommand(globals: () => GlobalOptions): Command {
  return new Command('exec')
    .description('run a command in a running container')
    .argument('<container>')
    .argument('<command...>')
    .option('-i, --interactive', 'keep STDIN open (without -t berth passes its stdin through either way)')
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('-u, --user <user[:group]>', 'user name or uid, optionally with group')
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .passThroughOptions()
    .action(
      async (
        key: string,
        args: string[],
        opts: { interactive?: boolean; tty?: boolean; env: string[]; user?: string; workdir?: string },
      ) => {
        await using services = await openContainerServices(configFrom(globals()), globals());
        const req: ExecRequest = {
          args,
          env: opts.env,
          ...(opts.user === undefined ? {} : { user: opts.user }),
          ...(opts.workdir === undefined ? {} : { workingDir: opts.workdir }),
        };
        if (opts.tty === true) {
          throw new ExitStatus(await execWithTerminal(services, key, req, opts.interactive === true));
        }
        const code = await services.containers.exec(key, {
          ...req,
          tty: false,
          // docker exec without -i gives the process no stdin.
          stdio: opts.interactive === true ? { stdin: 0, stdout: 1, stderr: 2 } : { stdout: 1, stderr: 2 },
        });
        throw new ExitStatus(code);
      },
    );
}

async function execWithTerminal(
  services: ContainerServices,
  key: string,
  req: ExecRequest,
  interactive: boolean,
): Promise<number> {
  const out = process.stdout;
  // The pty gets berth's terminal size before the process starts; later changes go through conmon.
  const size =
    out.isTTY && out.rows > 0 && out.columns > 0 ? { height: out.rows, width: out.columns } : undefined;
  const starting = new AbortController();
  let input: ContainerInput | undefined;
  let forward = (sig: NodeJS.Signals) => starting.abort(new CanceledError(`exec: ${sig} while starting`));
  const onSignal = (sig: NodeJS.Signals) => forward(sig);
  for (const s of forwarded) process.on(s, onSignal);
  const done = new AbortController();
  try {
    const session = await services.containers.execSession(
      key,
      { ...req, tty: true, ...(size === undefined ? {} : { consoleSize: size }) },
      {
        signal: starting.signal,
        // -i: connected (and raw) before the process starts, so no key and no early exit is missed.
        ...(interactive
          ? {
              attach: async (paths) => {
                input = connectInput({
                  raw: true,
                  ctlPath: paths.ctlPath,
                  resizeNow: false,
                  quietWhenGone: true,
                  attachSocket: paths.attachSocket,
                  waitForConnection: true,
                });
                await input.connected;
              },
            }
          : {}),
      },
    );
    try {
      forward = (sig) => void session.kill(sig);
      // Without -i nothing is read: the terminal stays as it is (^C reaches berth, which passes it on).
      input ??= connectInput({ raw: false, ctlPath: session.ctlPath, resizeNow: false, quietWhenGone: true });
      const exited = session.wait({ signal: done.signal });
      await followLog(session.logPath, exited);
      return await exited;
    } finally {
      done.abort();
      input?.stop();
      input = undefined;
      await session.close();
    }
  } finally {
    input?.stop();
    for (const s of forwarded) process.off(s, onSignal);
  }
}
