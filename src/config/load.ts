import { readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { InvalidArgumentError, isErrno, NotFoundError } from '../errdefs/index.ts';
import type { Config } from './schema.ts';
import { validateConfig } from './validate.ts';

export const DEFAULT_CONFIG_PATH = '/etc/berth/config.toml';

export interface LoadOptions {
  /** Path given with --config; when set, the file must exist. */
  path?: string | undefined;
  /** --root and --state: override the file's values so tests and users can run in other dirs. */
  root?: string | undefined;
  state?: string | undefined;
}

/**
 * Reads and validates the configuration. The default path may be absent (defaults apply); a path
 * given explicitly must exist.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const path = options.path ?? DEFAULT_CONFIG_PATH;
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (!isErrno(err, 'ENOENT') || options.path !== undefined) {
      throw new NotFoundError(`config file ${path}: cannot be read (${(err as Error).message})`, {
        cause: err,
      });
    }
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    throw new InvalidArgumentError(
      `config file ${path}: not valid TOML at line ${err.line}: ${err.message.split('\n')[0]}`,
      {
        cause: err,
      },
    );
  }
  const config = validateConfig(doc, `config file ${path}`);
  const overrides = validateConfig(
    { root: options.root ?? config.root, state: options.state ?? config.state },
    'command line',
  );
  return { ...config, root: overrides.root, state: overrides.state };
}
