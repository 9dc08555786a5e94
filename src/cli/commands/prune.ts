import { Command } from 'commander';
import { formatBytes, shortId } from '../format.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';
import { openImageServices } from '../lazy.ts';

export function pruneCommand(globals: () => GlobalOptions): Command {
  return new Command('prune')
    .description('remove blobs and snapshots no image, lease or container refers to')
    .option('-a, --all', 'also remove every image name first (berth has no containers yet to keep any)')
    .option('--dry-run', 'print what would be removed, remove nothing')
    .action(async (opts: { all?: boolean; dryRun?: boolean }) => {
      await using services = await openImageServices(configFrom(globals()));
      if (opts.all && !opts.dryRun) {
        for (const image of services.images.list()) {
          await services.images.remove(image.name);
          process.stdout.write(`Untagged: ${image.name}\n`);
        }
      }
      const result = await services.collectGarbage({ dryRun: opts.dryRun === true });
      const verb = opts.dryRun ? 'Would delete' : 'Deleted';
      for (const b of result.blobsRemoved) process.stdout.write(`${verb} blob: ${b.digest}\n`);
      for (const s of result.snapshotsRemoved) process.stdout.write(`${verb} snapshot: ${shortId(s)}\n`);
      process.stdout.write(`Total reclaimed space: ${formatBytes(result.bytesFreed)}\n`);
    });
}
