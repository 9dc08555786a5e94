import { Command } from 'commander';
import { parsePlatform } from '../../oci/image/index.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';
import { openImageServices } from '../lazy.ts';

export function pushCommand(globals: () => GlobalOptions): Command {
  return new Command('push')
    .description('push an image to a registry')
    .argument('<image>', 'an image berth has')
    .argument('[target]', 'push under this name instead (like `berth tag` then push)')
    .option('--platform <os/arch[/variant]>', 'push only this platform of a multi-platform image')
    .option('-q, --quiet', 'print only the pushed name')
    .action(async (ref: string, target: string | undefined, opts: { platform?: string; quiet?: boolean }) => {
      await using services = await openImageServices(configFrom(globals()));
      const { progressFor } = await import('../progress.ts');
      const view = progressFor(process.stderr, opts.quiet === true);
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      try {
        const pushed = await services.images.push(ref, {
          ...(target === undefined ? {} : { target }),
          ...(opts.platform === undefined ? {} : { platform: parsePlatform(opts.platform) }),
          onProgress: (e) => view.update(e),
          signal: controller.signal,
        });
        view.stop();
        if (!opts.quiet) process.stderr.write(`Digest: ${pushed.target.digest}\n`);
        process.stdout.write(`${pushed.name}\n`);
      } finally {
        view.stop();
        process.off('SIGINT', onSigint);
      }
    });
}
