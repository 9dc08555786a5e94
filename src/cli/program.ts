import { Command, CommanderError } from 'commander';
import { versionLine } from '../util/version.ts';
import { loadCommand, saveCommand } from './commands/archive.ts';
import { configCommand } from './commands/config.ts';
import { containerCommand } from './commands/container.ts';
import { contentCommand } from './commands/content.ts';
import { execCommand } from './commands/exec.ts';
import { imageCommand } from './commands/image.ts';
import { imagesCommand } from './commands/images.ts';
import { inspectCommand } from './commands/inspect.ts';
import {
  rmCommand as containerRmCommand,
  killCommand,
  startCommand,
  stopCommand,
  waitCommand,
} from './commands/lifecycle.ts';
import { logsCommand } from './commands/logs.ts';
import { ociCommand } from './commands/oci.ts';
import { systemCommand } from './commands/prune.ts';
import { psCommand } from './commands/ps.ts';
import { pullCommand } from './commands/pull.ts';
import { pushCommand } from './commands/push.ts';
import { rmiCommand, tagCommand } from './commands/rmi.ts';
import { createCommand, runCommand } from './commands/run.ts';
import { ExitCode, ExitStatus } from './exit-codes.ts';
import { addGlobalOptions, type GlobalOptions } from './global-options.ts';
import { reportError } from './report-error.ts';

function buildProgram(): Command {
  const program = new Command('berth')
    .description('berth: OCI images and containers, nerdctl/podman style, without a daemon')
    .version(versionLine(), '-v, --version', 'print the version')
    .exitOverride()
    // Options after a subcommand belong to it, and `run IMAGE CMD -x` leaves `-x` to CMD.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)');
  addGlobalOptions(program);
  const globals = () => program.opts<GlobalOptions>();
  program.addCommand(runCommand(globals));
  program.addCommand(createCommand(globals));
  program.addCommand(startCommand(globals));
  program.addCommand(psCommand(globals));
  program.addCommand(logsCommand(globals));
  program.addCommand(execCommand(globals));
  program.addCommand(stopCommand(globals));
  program.addCommand(killCommand(globals));
  program.addCommand(containerRmCommand(globals));
  program.addCommand(waitCommand(globals));
  program.addCommand(inspectCommand(globals));
  program.addCommand(containerCommand(globals));
  program.addCommand(pullCommand(globals));
  program.addCommand(pushCommand(globals));
  program.addCommand(imagesCommand(globals));
  program.addCommand(rmiCommand(globals));
  program.addCommand(tagCommand(globals));
  program.addCommand(imageCommand(globals));
  program.addCommand(contentCommand(globals));
  program.addCommand(saveCommand(globals));
  program.addCommand(loadCommand(globals));
  program.addCommand(systemCommand(globals));
  program.addCommand(ociCommand(globals));
  program.addCommand(configCommand(globals));
  return program;
}

export async function runProgram(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof ExitStatus) return err.code;
    if (err instanceof CommanderError) {
      // Commander has printed its own message (or the help/version text, with exit code 0).
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.berthFailed;
    }
    return reportError(err);
  }
}
