// Image config → process, with Docker's rules for what the person running the image asked for
// (moby daemon/commit.go merge, docker CLI `run --entrypoint`):
// - arguments replace the image's Cmd; the image's Entrypoint stays in front of them;
// - `--entrypoint X` replaces the Entrypoint and the image's Cmd is dropped (only the arguments follow);
// - `--entrypoint ''` clears the Entrypoint and the Cmd is kept (arguments still replace it);
// - Env: the image's, then the request's, a key given in both taking the request's value in the
//   image's position (containerd replaceOrAppendEnvValues); PATH is added when neither has one;
// - WorkingDir, or `/`; the user: the request's, else the image's User, resolved by withUser.

import { InvalidArgumentError } from '../errdefs/index.ts';
import type { ImageConfig } from '../oci/image/index.ts';
import { DEFAULT_PATH_ENV } from './defaults.ts';
import { processOf } from './generate.ts';
import type { SpecOpt } from './types.ts';
import { withUser } from './user.ts';

export interface RunOverrides {
  /** Arguments after the image name; they replace Cmd. An empty list means none given. */
  args?: readonly string[];
  /** `--entrypoint`: replaces Entrypoint and drops Cmd; `[]` clears Entrypoint and keeps Cmd. */
  entrypoint?: readonly string[];
  /** `-e` entries, `NAME=value`; a bare `NAME` removes the variable. */
  env?: readonly string[];
  /** `-w` */
  workingDir?: string;
  /** `-u` */
  user?: string;
}

/** The process arguments Docker runs for an image's Entrypoint/Cmd and the request. */
export function combineArgs(
  image: { Entrypoint?: readonly string[] | null; Cmd?: readonly string[] | null },
  overrides: Pick<RunOverrides, 'args' | 'entrypoint'> = {},
): string[] {
  const args = overrides.args ?? [];
  const entrypoint = overrides.entrypoint ?? image.Entrypoint ?? [];
  // moby merge: the image's Cmd is used only when no entrypoint with content was asked for.
  const keepImageCmd = overrides.entrypoint === undefined || overrides.entrypoint.length === 0;
  const cmd = args.length > 0 ? args : keepImageCmd ? (image.Cmd ?? []) : [];
  return [...entrypoint, ...cmd];
}

function key(entry: string): string {
  const eq = entry.indexOf('=');
  return eq === -1 ? entry : entry.slice(0, eq);
}

/** `base` with `overrides` applied by key: replaced in place, appended when new, removed when bare. */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const out = new Map<string, string | undefined>();
  for (const e of base) if (e.includes('=')) out.set(key(e), e);
  for (const e of overrides) {
    if (key(e) === '') throw new InvalidArgumentError(`environment entry ${JSON.stringify(e)}: empty name`);
    if (e.includes('=')) out.set(key(e), e);
    else if (out.has(e)) out.set(e, undefined);
  }
  return [...out.values()].filter((e): e is string => e !== undefined);
}

/** Applies an image's config and the request's overrides to the process (see the file comment). */
export function withImageConfig(config: ImageConfig, overrides: RunOverrides = {}): SpecOpt {
  return async (spec, ctx) => {
    const run = config.config ?? {};
    const process = processOf(spec);
    process.args = combineArgs(run, overrides);
    if (process.args.length === 0) {
      throw new InvalidArgumentError(
        'image config: no command: the image has no Entrypoint or Cmd and none was given',
        {
          hint: 'give a command after the image name, or --entrypoint',
        },
      );
    }
    const env = mergeEnv(mergeEnv(run.Env ?? [], process.env ?? []), overrides.env ?? []);
    process.env = env.some((e) => e.startsWith('PATH=')) ? env : [DEFAULT_PATH_ENV, ...env];
    const cwd =
      overrides.workingDir ?? (run.WorkingDir === undefined || run.WorkingDir === '' ? '/' : run.WorkingDir);
    if (!cwd.startsWith('/')) {
      throw new InvalidArgumentError(`working directory ${JSON.stringify(cwd)}: must be an absolute path`);
    }
    process.cwd = cwd;
    await withUser(overrides.user ?? run.User ?? '')(spec, ctx);
  };
}
