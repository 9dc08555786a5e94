import { Command } from 'commander';
import type { GlobalOptions } from '../global-options.ts';
import { inspectCommand } from './inspect.ts';
import { cleanupCommand, rmCommand } from './lifecycle.ts';
import { psCommand } from './ps.ts';

/** `berth container …`: docker's management-command spelling of the container commands. */
export function containerCommand(globals: () => GlobalOptions): Command {
  return new Command('container')
    .description('manage containers (ls, rm, inspect; cleanup is run by conmon)')
    .addCommand(psCommand(globals, 'ls'))
    .addCommand(rmCommand(globals, 'rm'))
    .addCommand(inspectCommand(globals, 'inspect'))
    .addCommand(cleanupCommand(globals));
}
