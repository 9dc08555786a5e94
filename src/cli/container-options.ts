// The options `berth run` and `berth create` share (docker run's names and meanings), and their
// translation into a containers CreateRequest.

import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { CreateRequest, NetworkMode } from '../containers/index.ts';
import { parseVolume } from '../containers/volumes.ts';
import { InvalidArgumentError, isErrno, NotFoundError } from '../errdefs/index.ts';
import { isRuntimeName } from '../runtime/index.ts';

export interface ContainerFlags {
  name?: string;
  env: string[];
  envFile: string[];
  volume: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  hostname?: string;
  network: string;
  memory?: string;
  cpus?: string;
  pidsLimit?: string;
  readOnly?: boolean;
  capAdd: string[];
  capDrop: string[];
  privileged?: boolean;
  runtime?: string;
  rm?: boolean;
  interactive?: boolean;
  tty?: boolean;
  label: string[];
  pull: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function addContainerOptions(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'assign a name to the container')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('--env-file <file>', 'read environment variables from a file (repeatable)', collect, [])
    .option(
      '-v, --volume <[HOST:]CTR[:ro]>',
      'bind a host path, or an anonymous volume (repeatable)',
      collect,
      [],
    )
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user name or uid, optionally with group')
    .option('--entrypoint <cmd>', "override the image's entrypoint ('' clears it)")
    .option('--hostname <name>', 'container host name')
    .addOption(new Option('--net, --network <mode>', 'network: none or host').default('none'))
    .option('-m, --memory <bytes>', 'memory limit (e.g. 64m, 1g)')
    .option('--cpus <n>', 'number of CPUs (e.g. 0.5)')
    .option('--pids-limit <n>', 'tune the container pids limit (-1 for unlimited)')
    .option('--read-only', "mount the container's root filesystem read-only")
    .option('--cap-add <cap>', 'add a Linux capability (repeatable)', collect, [])
    .option('--cap-drop <cap>', 'drop a Linux capability (repeatable)', collect, [])
    .option('--privileged', 'give extended privileges to the container')
    .option('--runtime <name>', 'OCI runtime: runc or crun (default from the config)')
    .option('--rm', 'remove the container when it exits')
    .option('-i, --interactive', 'keep STDIN open')
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option('-l, --label <key=value>', 'set a label (repeatable)', collect, [])
    .addOption(new Option('--pull <policy>', 'pull the image: missing, always or never').default('missing'));
}

/** Bytes from docker's size syntax: `1024`, `64k`, `64m`, `1g` (powers of 1024). */
export function parseBytes(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?$/i.exec(text.trim());
  if (m === null) {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(text)}: not a size`, { hint: 'e.g. 64m or 1g' });
  }
  const unit = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()] ?? 1;
  return Math.floor(Number(m[1]) * unit);
}

function parseNumber(text: string, what: string, integer: boolean): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new InvalidArgumentError(
      `${what} ${JSON.stringify(text)}: not ${integer ? 'an integer' : 'a number'}`,
    );
  }
  return n;
}

/** docker's env-file: `KEY=VALUE` lines, `#` comments, a bare `KEY` taking the value from berth's env. */
export function readEnvFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new NotFoundError(`env file ${file}: no such file`);
    throw err;
  }
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
    .map((l) => expandBareEnv(l));
}

/** `-e KEY` (no `=`) takes KEY's value from berth's own environment, as docker does. */
function expandBareEnv(entry: string): string {
  if (entry.includes('=')) return entry;
  const v = process.env[entry];
  return v === undefined ? entry : `${entry}=${v}`;
}

function parseLabels(entries: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const eq = e.indexOf('=');
    out[eq === -1 ? e : e.slice(0, eq)] = eq === -1 ? '' : e.slice(eq + 1);
  }
  return out;
}

export function createRequest(image: string, args: string[], f: ContainerFlags): CreateRequest {
  if (f.network !== 'none' && f.network !== 'host') {
    throw new InvalidArgumentError(
      `network ${JSON.stringify(f.network)}: only none and host are supported yet`,
      {
        hint: 'the CNI bridge network arrives with berthd (issue 5)',
      },
    );
  }
  if (f.runtime !== undefined && !isRuntimeName(f.runtime)) {
    throw new InvalidArgumentError(`runtime ${JSON.stringify(f.runtime)}: unknown`, {
      hint: 'use runc or crun',
    });
  }
  const req: CreateRequest = {
    image,
    network: f.network as NetworkMode,
    env: [...f.envFile.flatMap(readEnvFile), ...f.env.map(expandBareEnv)],
    volumes: f.volume.map(parseVolume),
    capAdd: f.capAdd,
    capDrop: f.capDrop,
    labels: parseLabels(f.label),
  };
  if (args.length > 0) req.args = args;
  if (f.name !== undefined) req.name = f.name;
  if (f.workdir !== undefined) req.workingDir = f.workdir;
  if (f.user !== undefined) req.user = f.user;
  if (f.entrypoint !== undefined) req.entrypoint = f.entrypoint === '' ? [] : [f.entrypoint];
  if (f.hostname !== undefined) req.hostname = f.hostname;
  if (f.memory !== undefined) req.memory = parseBytes(f.memory, '--memory');
  if (f.cpus !== undefined) req.cpus = parseNumber(f.cpus, '--cpus', false);
  if (f.pidsLimit !== undefined) req.pidsLimit = parseNumber(f.pidsLimit, '--pids-limit', true);
  if (f.readOnly === true) req.readonlyRootfs = true;
  if (f.privileged === true) req.privileged = true;
  if (f.runtime !== undefined && isRuntimeName(f.runtime)) req.runtime = f.runtime;
  if (f.rm === true) req.autoRemove = true;
  if (f.tty === true) req.tty = true;
  if (f.interactive === true) req.stdin = true;
  return req;
}
