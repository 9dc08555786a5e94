import { Command } from 'commander';
import { imagesInUse } from '../../containers/index.ts';
import { FailedPreconditionError } from '../../errdefs/index.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';
import { openImageServices } from '../lazy.ts';

export function rmiCommand(globals: () => GlobalOptions, name = 'rmi'): Command {
  return new Command(name)
    .description('remove image names (content stays until `berth image prune`)')
    .argument('<image...>', 'image references')
    .option('-f, --force', 'remove the name even if containers were created from it')
    .action(async (refs: string[], opts: { force?: boolean }) => {
      await using services = await openImageServices(configFrom(globals()));
      const inUse = imagesInUse(services.metadata.containers);
      for (const ref of refs) {
        const users = inUse.get(services.images.get(ref).name);
        if (users !== undefined && opts.force !== true) {
          throw new FailedPreconditionError(`image "${ref}": in use by container ${users.join(', ')}`, {
            hint: 'remove the containers first (berth rm), or use rmi -f',
          });
        }
        const removed = await services.images.remove(ref);
        process.stdout.write(`Untagged: ${removed}\n`);
      }
    });
}

export function tagCommand(globals: () => GlobalOptions): Command {
  return new Command('tag')
    .description('give an image another name')
    .argument('<source>', 'an image berth has')
    .argument('<target>', 'the new name')
    .action(async (source: string, target: string) => {
      await using services = await openImageServices(configFrom(globals()));
      await services.images.tag(source, target);
    });
}

export function inspectImageCommand(globals: () => GlobalOptions): Command {
  return new Command('inspect')
    .description('show an image: target, manifest, config')
    .argument('<image...>', 'image references')
    .action(async (refs: string[]) => {
      await using services = await openImageServices(configFrom(globals()));
      const out = [];
      for (const ref of refs) out.push(await services.images.inspect(ref));
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    });
}
