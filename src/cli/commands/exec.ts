import { Command } from 'commander';
import { ExitStatus } from '../exit-codes.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';
import { openContainerServices } from '../lazy.ts';

const collect = (v: string, prev: string[]) => [...prev, v];

/**
 * `berth exec CTR CMD…`: without -t the runtime hands berth's own stdin, stdout and stderr to the new
 * process, so its output streams straight through and berth exits with its status (127 when the
 * command is not found, as docker exec does).
 */
export function execCommand(globals: () => GlobalOptions): Command {
  return new Command('exec')
    .description('run a command in a running container')
    .argument('<container>')
    .argument('<command...>')
    .option('-i, --interactive', 'keep STDIN open (berth passes its stdin through either way)')
    .option('-t, --tty', 'allocate a pseudo-TTY (not supported yet)')
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
        const code = await services.containers.exec(key, {
          args,
          env: opts.env,
          ...(opts.user === undefined ? {} : { user: opts.user }),
          ...(opts.workdir === undefined ? {} : { workingDir: opts.workdir }),
          tty: opts.tty === true,
          // docker exec without -i gives the process no stdin.
          stdio: opts.interactive === true ? { stdin: 0, stdout: 1, stderr: 2 } : { stdout: 1, stderr: 2 },
        });
        throw new ExitStatus(code);
      },
    );
}
