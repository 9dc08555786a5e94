// `berth stop`, `kill`, `rm`, `wait`, `start` (detached form) and the hidden `container cleanup`:
// each takes one or more containers (id, name or id prefix), acts on each in turn, prints what docker
// prints (the name as given, or the exit code for wait), reports a failure per container and goes on,
// exiting 1 if any failed (docker's behaviour for multi-container commands).

import { Command } from 'commander';
import { ExitStatus } from '../exit-codes.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';
import { openContainerServices } from '../lazy.ts';
import { reportError } from '../report-error.ts';
import type { ContainerServices } from '../services.ts';

type Each = (services: ContainerServices, key: string) => Promise<string | undefined>;

async function forEach(globals: () => GlobalOptions, keys: string[], fn: Each): Promise<void> {
  await using services = await openContainerServices(configFrom(globals()), globals());
  let failed = false;
  for (const key of keys) {
    try {
      const out = await fn(services, key);
      if (out !== undefined) process.stdout.write(`${out}\n`);
    } catch (err) {
      reportError(err);
      failed = true;
    }
  }
  if (failed) throw new ExitStatus(1);
}

export function stopCommand(globals: () => GlobalOptions): Command {
  return new Command('stop')
    .description('stop running containers (SIGTERM, then SIGKILL after the grace period)')
    .argument('<container...>')
    .option('-t, --time <seconds>', 'seconds to wait before killing', '10')
    .action(async (keys: string[], opts: { time: string }) => {
      const secs = Number(opts.time);
      await forEach(globals, keys, async (s, key) => {
        await s.containers.stop(key, Number.isFinite(secs) && secs >= 0 ? secs : 10);
        return key;
      });
    });
}

export function killCommand(globals: () => GlobalOptions): Command {
  return new Command('kill')
    .description('send a signal to running containers')
    .argument('<container...>')
    .option('-s, --signal <signal>', 'signal to send', 'KILL')
    .action(async (keys: string[], opts: { signal: string }) => {
      await forEach(globals, keys, async (s, key) => {
        await s.containers.kill(key, opts.signal);
        return key;
      });
    });
}

export function rmCommand(globals: () => GlobalOptions, name = 'rm'): Command {
  return new Command(name)
    .description('remove containers (and their anonymous volumes)')
    .argument('<container...>')
    .option('-f, --force', 'kill a running container first')
    .option('-v, --volumes', 'remove anonymous volumes (always done; accepted for docker compatibility)')
    .action(async (keys: string[], opts: { force?: boolean }) => {
      await forEach(globals, keys, async (s, key) => {
        await s.containers.remove(key, { force: opts.force === true });
        return key;
      });
    });
}

export function waitCommand(globals: () => GlobalOptions): Command {
  return new Command('wait')
    .description('wait for containers to stop, then print their exit codes')
    .argument('<container...>')
    .action(async (keys: string[]) => {
      await forEach(globals, keys, async (s, key) => {
        const c = await s.containers.wait(key);
        return String(c.exitCode ?? -1);
      });
    });
}

export function startCommand(globals: () => GlobalOptions): Command {
  return new Command('start')
    .description('start created or stopped containers')
    .argument('<container...>')
    .option('-a, --attach', "attach to the container's output and exit with its code")
    .action(async (keys: string[], opts: { attach?: boolean }) => {
      if (opts.attach === true) {
        const { attachedStart } = await import('./run.ts');
        if (keys.length !== 1) throw new ExitStatus(reportError(new Error('start -a takes one container')));
        throw new ExitStatus(await attachedStart(globals, keys[0]!));
      }
      await forEach(globals, keys, async (s, key) => {
        await s.containers.start(key, { detached: true });
        return key;
      });
    });
}

/** `berth container cleanup ID`: what conmon runs when a detached container exits. */
export function cleanupCommand(globals: () => GlobalOptions): Command {
  return new Command('cleanup')
    .description('record an exited container and release its resources (run by conmon)')
    .argument('<container...>')
    .action(async (keys: string[]) => {
      await forEach(globals, keys, async (s, key) => {
        await s.containers.cleanup(key);
        return undefined;
      });
    });
}
