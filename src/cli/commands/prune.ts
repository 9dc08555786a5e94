// `berth image prune` and `berth system prune`: the garbage collector (src/images/gc.ts) with the
// command lines docker and nerdctl users know. Docker's `image prune` removes dangling (untagged)
// images and `-a` every image no container uses; berth has no untagged images and no containers
// yet, so without -a both commands remove only what no image, lease or snapshot in use refers to,
// and with -a every image first. `system prune` will also take stopped containers once they exist.
// As docker, both ask before removing unless -f; a dry run asks nothing and removes nothing.

import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { imagesInUse } from '../../containers/index.ts';
import { CanceledError } from '../../errdefs/index.ts';
import type { GcResult } from '../../images/gc.ts';
import type { Image } from '../../metadata/index.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';
import { openImageServices } from '../lazy.ts';

interface PruneOptions {
  all?: boolean;
  force?: boolean;
  dryRun?: boolean;
}

/** `berth image prune [-a] [-f] [--dry-run]` */
export function pruneCommand(globals: () => GlobalOptions): Command {
  return pruneLike(
    'prune',
    'remove unused images and the blobs and snapshots nothing refers to',
    'WARNING! This will remove all blobs and snapshots no image uses.',
    'WARNING! This will remove all images without at least one container associated to them .',
    globals,
  );
}

/** `berth system prune [-a] [-f] [--dry-run]`: today the same as `image prune`. */
export function systemCommand(globals: () => GlobalOptions): Command {
  return new Command('system')
    .description('manage berth')
    .addCommand(
      pruneLike(
        'prune',
        'remove unused data: stopped containers (none yet), unused images, unreferenced blobs and snapshots, stale downloads',
        'WARNING! This will remove:\n  - all blobs and snapshots no image uses\n  - partial downloads untouched for a day',
        'WARNING! This will remove:\n  - all images without at least one container associated to them \n  - all blobs and snapshots no image uses\n  - partial downloads untouched for a day',
        globals,
      ),
    );
}

function pruneLike(
  name: string,
  description: string,
  warning: string,
  warningAll: string,
  globals: () => GlobalOptions,
): Command {
  return new Command(name)
    .description(description)
    .option('-a, --all', 'also remove images not used by any container')
    .option('-f, --force', 'do not prompt for confirmation')
    .option('--dry-run', 'print what would be removed, remove nothing')
    .action(async (opts: PruneOptions) => {
      const dryRun = opts.dryRun === true;
      if (!dryRun && opts.force !== true) await confirm(opts.all === true ? warningAll : warning);
      await using services = await openImageServices(configFrom(globals()));
      // `-a` keeps the images of existing containers, as docker does.
      const inUse = imagesInUse(services.metadata.containers);
      const result = await services.collectGarbage({
        dryRun,
        ...(opts.all === true ? { pruneImages: (image: Image) => !inUse.has(image.name) } : {}),
      });
      process.stdout.write(report(result, dryRun));
    });
}

/** docker's prompt: anything but y/yes (an empty answer, EOF, a closed stdin) cancels. */
async function confirm(warning: string): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  let answer = '';
  try {
    const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
    answer = await Promise.race([
      rl.question(`${warning}\nAre you sure you want to continue? [y/N] `),
      closed,
    ]);
  } finally {
    rl.close();
  }
  if (!/^y(es)?$/i.test(answer.trim())) {
    throw new CanceledError('prune: not confirmed; nothing removed', {
      hint: 'pass -f to skip the question',
    });
  }
}

/** What was removed, in docker's layout, then berth's blobs and snapshots. */
export function report(result: GcResult, dryRun: boolean): string {
  const lines: string[] = [];
  const verb = dryRun ? 'Would delete' : 'Deleted';
  if (result.imagesRemoved.length > 0) {
    lines.push(`${verb} Images:`, ...result.imagesRemoved.map((n) => `untagged: ${n}`), '');
  }
  if (result.blobsRemoved.length > 0) {
    lines.push(`${verb} Blobs:`, ...result.blobsRemoved.map((b) => `deleted: ${b.digest}`), '');
  }
  if (result.snapshotsRemoved.length > 0) {
    lines.push(`${verb} Snapshots:`, ...result.snapshotsRemoved, '');
  }
  const partial = result.ingestsRemoved.length + result.leftoversRemoved.length;
  if (partial > 0) lines.push(`${verb} ${partial} partial downloads and temporary files`, '');
  lines.push(`Total ${dryRun ? 'reclaimable' : 'reclaimed'} space: ${dockerSize(result.bytesFreed)}`);
  return `${lines.join('\n')}\n`;
}

/** docker's units.HumanSize: decimal units, 4 significant digits, no space ("7.8MB", "0B"). */
export function dockerSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${Number(value.toPrecision(4))}${units[unit]}`;
}
