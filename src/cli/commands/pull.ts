import { Command } from 'commander';
import { parsePlatform } from '../../oci/image/index.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';
import { openImageServices } from '../lazy.ts';

export function pullCommand(globals: () => GlobalOptions): Command {
  return new Command('pull')
    .description('pull an image from a registry and unpack it')
    .argument('<image>', 'image reference, e.g. busybox or 127.0.0.1:5000/busybox:latest')
    .option('--platform <os/arch[/variant]>', 'pull this platform of a multi-platform image')
    .option('-q, --quiet', 'print only the image name')
    .action(async (ref: string, opts: { platform?: string; quiet?: boolean }) => {
      const config = configFrom(globals());
      await using services = await openImageServices(config);
      const platform = opts.platform ?? (config.images.platform || undefined);
      const { progressFor } = await import('../progress.ts');
      const view = progressFor(process.stderr, opts.quiet === true);
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      try {
        const image = await services.images.pull(ref, {
          ...(platform === undefined ? {} : { platform: parsePlatform(platform) }),
          onProgress: (e) => view.update(e),
          signal: controller.signal,
        });
        view.stop();
        if (!opts.quiet) {
          process.stderr.write(`Digest: ${image.target.digest}\nPlatform: ${image.platform}\n`);
        }
        process.stdout.write(`${image.name}\n`);
      } finally {
        view.stop();
        process.off('SIGINT', onSigint);
      }
    });
}
