import { Command } from 'commander';
import { InvalidArgumentError } from '../../errdefs/index.ts';
import { readLog } from '../../shim/cri-log-reader.ts';
import { writeLog } from '../../shim/cri-log-render.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';
import { openContainerServices } from '../lazy.ts';

/** `--since` as docker takes it: an RFC 3339 time, or a duration before now (`10m`, `1h30m`, `45s`). */
export function parseSince(text: string, now = Date.now()): Date | string {
  const d = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (d !== null && text !== '') {
    const secs = Number(d[1] ?? 0) * 3600 + Number(d[2] ?? 0) * 60 + Number(d[3] ?? 0);
    return new Date(now - secs * 1000);
  }
  if (Number.isNaN(Date.parse(text))) {
    throw new InvalidArgumentError(`--since ${JSON.stringify(text)}: not a time or a duration`, {
      hint: 'e.g. 10m, 1h, or 2026-11-25T10:00:00Z',
    });
  }
  return text;
}

export function logsCommand(globals: () => GlobalOptions): Command {
  return new Command('logs')
    .description("print a container's output (from its CRI log)")
    .argument('<container>')
    .option('-f, --follow', 'keep printing new output until the container stops')
    .option('-n, --tail <lines>', 'only the last N lines', 'all')
    .option('-t, --timestamps', 'prefix each line with its time')
    .option('--since <time>', 'only output since this time (RFC 3339) or duration ago (10m)')
    .action(
      async (key: string, opts: { follow?: boolean; tail: string; timestamps?: boolean; since?: string }) => {
        await using services = await openContainerServices(configFrom(globals()), globals());
        const c = await services.containers.get(key);
        let tail: number | undefined;
        if (opts.tail !== 'all') {
          tail = Number(opts.tail);
          if (!Number.isInteger(tail) || tail < 0) {
            throw new InvalidArgumentError(`--tail ${JSON.stringify(opts.tail)}: not a number of lines`);
          }
        }
        const controller = new AbortController();
        const onSigint = () => controller.abort();
        process.once('SIGINT', onSigint);
        try {
          const running = c.status === 'running' || c.status === 'unknown';
          const records = readLog(c.logPath, {
            follow: opts.follow === true && running,
            until: services.containers.wait(c.id, { signal: controller.signal }).catch(() => undefined),
            signal: controller.signal,
            ...(tail === undefined ? {} : { tail }),
            ...(opts.since === undefined ? {} : { since: parseSince(opts.since) }),
          });
          await writeLog(
            records,
            { stdout: process.stdout, stderr: process.stderr },
            { timestamps: opts.timestamps === true },
          );
        } finally {
          controller.abort();
          process.off('SIGINT', onSigint);
        }
      },
    );
}
