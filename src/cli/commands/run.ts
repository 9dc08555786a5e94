// `berth run`, `berth create` and `berth start -a`. A foreground run prints the container's output by
// following the CRI log conmon writes (stdout records to stdout, stderr records to stderr), forwards
// the signals berth receives to the container (docker's sig-proxy), feeds stdin to conmon's attach
// socket with -i, and exits with the container's exit code. conmon, not berth, is the container's
// parent: if berth is killed the container runs on and `berth ps` / `logs` / `wait` still work.

import { Command } from 'commander';
import type { Container, CreateRequest } from '../../containers/index.ts';
import { containerPaths } from '../../containers/index.ts';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../errdefs/index.ts';
import { mark } from '../../util/trace.ts';
import { connectInput, containerInputTarget } from '../container-input.ts';
import { addContainerOptions, type ContainerFlags, createRequest } from '../container-options.ts';
import { followContainer } from '../container-output.ts';
import { ExitCode, ExitStatus } from '../exit-codes.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';
import { openContainerServices } from '../lazy.ts';
import { reportError } from '../report-error.ts';
import type { ContainerServices } from '../services.ts';

interface RunFlags extends ContainerFlags {
  detach?: boolean;
}

/** Makes sure the image is in the store, pulling it with the progress bars per the --pull policy. */
async function ensureImage(services: ContainerServices, ref: string, policy: string): Promise<void> {
  if (!['missing', 'always', 'never'].includes(policy)) {
    throw new InvalidArgumentError(`--pull ${JSON.stringify(policy)}: use missing, always or never`);
  }
  if (policy !== 'always') {
    try {
      services.images.get(ref);
      return;
    } catch (err) {
      if (!(err instanceof NotFoundError) || policy === 'never') throw err;
    }
  }
  const { progressFor } = await import('../progress.ts');
  const view = progressFor(process.stderr, false);
  try {
    await services.images.pull(ref, { onProgress: (e) => view.update(e) });
  } finally {
    view.stop();
  }
}

async function createFrom(services: ContainerServices, image: string, args: string[], flags: ContainerFlags) {
  const req: CreateRequest = createRequest(image, args, flags);
  await ensureImage(services, image, flags.pull);
  return services.containers.create(req);
}

export function createCommand(globals: () => GlobalOptions): Command {
  return addContainerOptions(
    new Command('create')
      .description('create a container from an image (pulled if missing) without starting it')
      .argument('<image>')
      .argument('[command...]')
      .passThroughOptions(),
  ).action(async (image: string, args: string[], flags: ContainerFlags) => {
    await using services = await openContainerServices(configFrom(globals()), globals());
    const c = await createFrom(services, image, args, flags);
    process.stdout.write(`${c.id}\n`);
  });
}

export function runCommand(globals: () => GlobalOptions): Command {
  return addContainerOptions(
    new Command('run')
      .description('run a command in a new container (pulling the image if missing)')
      .argument('<image>')
      .argument('[command...]')
      .option('-d, --detach', 'run in the background and print the container id')
      .passThroughOptions(),
  ).action(async (image: string, args: string[], flags: RunFlags) => {
    mark('run: command parsed');
    await using services = await openContainerServices(configFrom(globals()), globals());
    mark('services open');
    const c = await createFrom(services, image, args, flags);
    if (flags.detach === true) {
      await startOrRemove(services, c, true);
      process.stdout.write(`${c.id}\n`);
      return;
    }
    throw new ExitStatus(await runAttached(services, c));
  });
}

/** `berth start -a`: start an existing container and stay with it as `run` does. */
export async function attachedStart(globals: () => GlobalOptions, key: string): Promise<number> {
  await using services = await openContainerServices(configFrom(globals()), globals());
  return await runAttached(services, await services.containers.get(key), false);
}

/** A run whose first start fails leaves nothing behind: the container is removed again. */
async function startOrRemove(
  services: ContainerServices,
  c: Container,
  detached: boolean,
): Promise<Container> {
  try {
    return await services.containers.start(c.id, { detached });
  } catch (err) {
    await services.containers.remove(c.id, { force: true }).catch((e: unknown) => {
      if (!(e instanceof NotFoundError)) throw e;
    });
    throw err;
  }
}

/** Signals berth forwards to a foreground container (docker's sig-proxy list, less SIGKILL/STOP). */
const forwarded: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

async function runAttached(services: ContainerServices, created: Container, fresh = true): Promise<number> {
  const c = fresh
    ? await startOrRemove(services, created, false)
    : await services.containers.start(created.id, { detached: false });
  const forward = (sig: NodeJS.Signals) => {
    services.containers.kill(c.id, sig.slice(3)).catch((err: unknown) => {
      if (!(err instanceof FailedPreconditionError)) reportError(err); // not running: it exited meanwhile
    });
  };
  if (c.request.tty !== true) for (const s of forwarded) process.on(s, forward);
  const input = connectInput(containerInputTarget(c, containerPaths(services.containers.deps.dirs, c.id)));
  try {
    const exited = services.containers.wait(c.id);
    await followContainer(c, exited);
    const stopped = await exited;
    mark('output drained, container stopped');
    if (stopped.exitCode === undefined) {
      process.stderr.write(`berth: container ${c.name}: ${stopped.error ?? 'exit status unknown'}\n`);
      return ExitCode.berthFailed;
    }
    return stopped.exitCode;
  } finally {
    input.stop();
    for (const s of forwarded) process.off(s, forward);
  }
}
