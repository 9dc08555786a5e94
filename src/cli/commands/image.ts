import { Command } from 'commander';
import type { GlobalOptions } from '../global-options.ts';
import { imageExportCommand, imageImportCommand } from './archive.ts';
import { imagesCommand } from './images.ts';
import { pruneCommand } from './prune.ts';
import { pullCommand } from './pull.ts';
import { pushCommand } from './push.ts';
import { inspectImageCommand, rmiCommand, tagCommand } from './rmi.ts';

/** `berth image …`: the same commands grouped, as docker and nerdctl have them. */
export function imageCommand(globals: () => GlobalOptions): Command {
  return new Command('image')
    .description('manage images')
    .addCommand(imagesCommand(globals, 'ls'))
    .addCommand(pruneCommand(globals))
    .addCommand(pullCommand(globals))
    .addCommand(pushCommand(globals))
    .addCommand(rmiCommand(globals, 'rm'))
    .addCommand(tagCommand(globals))
    .addCommand(inspectImageCommand(globals))
    .addCommand(imageImportCommand(globals))
    .addCommand(imageExportCommand(globals));
}
