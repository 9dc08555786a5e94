import { Command } from 'commander';
import { type Container, describeStatus, shortId } from '../../containers/index.ts';
import { combineArgs } from '../../spec/index.ts';
import { formatAge, formatTable } from '../format.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';
import { openContainerServices } from '../lazy.ts';
import { repositoryAndTag } from './images.ts';

/** The command line the container runs (or would run), as docker's COMMAND column shows it. */
export function commandOf(c: Container): string[] {
  return (
    c.spec?.process?.args ??
    combineArgs(c.image.config.config ?? {}, {
      ...(c.request.args === undefined ? {} : { args: c.request.args }),
      ...(c.request.entrypoint === undefined ? {} : { entrypoint: c.request.entrypoint }),
    })
  );
}

/** docker ps's IMAGE column: the familiar name (`busybox:latest`, `127.0.0.1:5000/x:tag`). */
export function familiarImage(name: string): string {
  const [repo, tag] = repositoryAndTag(name);
  return `${repo}:${tag}`;
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** The JSON form of `ps --format json` and the base of `inspect`: docker's field names. */
export function containerSummary(c: Container) {
  return {
    Id: c.id,
    Name: c.name,
    Image: c.image.name,
    ImageDigest: c.image.digest,
    Command: commandOf(c),
    Created: c.createdAt,
    State: c.status,
    Status: describeStatus(c),
    ExitCode: c.exitCode ?? null,
    OOMKilled: c.oomKilled === true,
    StartedAt: c.startedAt ?? null,
    FinishedAt: c.finishedAt ?? null,
    Pid: c.pid ?? null,
    ConmonPid: c.conmonPid ?? null,
    Runtime: c.runtime,
    Error: c.error ?? null,
    LogPath: c.logPath,
    Labels: c.request.labels ?? {},
  };
}

export function psCommand(globals: () => GlobalOptions, name = 'ps'): Command {
  return new Command(name)
    .description('list containers (running ones unless -a)')
    .option('-a, --all', 'show all containers, not only running ones')
    .option('-q, --quiet', 'print only container ids')
    .option('--no-trunc', 'do not truncate output')
    .option('--format <format>', '"table" or "json"', 'table')
    .action(async (opts: { all?: boolean; quiet?: boolean; trunc: boolean; format: string }) => {
      await using services = await openContainerServices(configFrom(globals()), globals());
      const list = (await services.containers.list()).filter(
        (c) => opts.all === true || c.status === 'running',
      );
      const id = (c: Container) => (opts.trunc ? shortId(c.id) : c.id);
      if (opts.quiet) {
        process.stdout.write(list.map((c) => `${id(c)}\n`).join(''));
      } else if (opts.format === 'json') {
        process.stdout.write(`${JSON.stringify(list.map(containerSummary), null, 2)}\n`);
      } else {
        const rows = list.map((c) => {
          const cmd = JSON.stringify(commandOf(c).join(' '));
          return [
            id(c),
            familiarImage(c.image.name),
            opts.trunc ? truncate(cmd, 22) : cmd,
            formatAge(c.createdAt),
            describeStatus(c),
            c.name,
          ];
        });
        process.stdout.write(
          formatTable(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'], rows),
        );
      }
    });
}
