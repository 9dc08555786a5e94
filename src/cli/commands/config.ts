import { Command } from 'commander';
import { stringify } from 'smol-toml';
import { defaultConfigText } from '../../config/index.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';

export function configCommand(globals: () => GlobalOptions): Command {
  const cmd = new Command('config').description('show the configuration');
  cmd
    .command('default')
    .description('print the default configuration, every key commented with its meaning')
    .action(() => {
      process.stdout.write(defaultConfigText());
    });
  cmd
    .command('show')
    .description('print the configuration in effect (file, defaults and command-line overrides)')
    .action(() => {
      process.stdout.write(stringify(configFrom(globals())));
      process.stdout.write('\n');
    });
  return cmd;
}
