import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type Config, loadConfig } from '../config/index.ts';

export interface GlobalOptions {
  config?: string;
  root?: string;
  state?: string;
}

export function addGlobalOptions(program: Command): Command {
  return program
    .option('--config <path>', 'configuration file (default /etc/berth/config.toml)')
    .option('--root <dir>', 'persistent data directory (overrides the config file)')
    .option('--state <dir>', 'runtime state directory (overrides the config file)');
}

/** Loads the configuration the global options point at; relative paths are taken from the cwd. */
export function configFrom(options: GlobalOptions): Config {
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(p));
  return loadConfig({ path: abs(options.config), root: abs(options.root), state: abs(options.state) });
}
