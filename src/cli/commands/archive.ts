// Image archives on the command line: `berth image import|export` (nerdctl/ctr style) and docker's
// `berth save|load`. The formats and their checks are in src/images/archive-*.ts.
import { Command, Option } from 'commander';
import type { ArchiveFormat } from '../../images/index.ts';
import { parsePlatform } from '../../oci/image/index.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';
import { openImageServices } from '../lazy.ts';

interface ImportFlags {
  name?: string;
  platform?: string;
  quiet?: boolean;
}

async function runImport(globals: () => GlobalOptions, source: string, opts: ImportFlags, verb: string) {
  await using services = await openImageServices(configFrom(globals()));
  const { progressFor } = await import('../progress.ts');
  const view = progressFor(process.stderr, opts.quiet === true);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const imported = await services.images.import(source, {
      ...(opts.name === undefined ? {} : { name: opts.name }),
      ...(opts.platform === undefined ? {} : { platform: parsePlatform(opts.platform) }),
      onProgress: (e) => view.update(e),
      signal: controller.signal,
    });
    view.stop();
    for (const image of imported) {
      process.stdout.write(
        opts.quiet ? `${image.name}\n` : `${verb} image: ${image.name} (${image.target.digest})\n`,
      );
    }
  } finally {
    view.stop();
    process.off('SIGINT', onSigint);
  }
}

interface ExportFlags {
  output: string;
  format: ArchiveFormat;
  platform?: string;
}

async function runExport(globals: () => GlobalOptions, refs: string[], opts: ExportFlags) {
  await using services = await openImageServices(configFrom(globals()));
  await services.images.export(refs, opts.output, {
    format: opts.format,
    ...(opts.platform === undefined ? {} : { platform: parsePlatform(opts.platform) }),
  });
}

const formatOption = (fallback: ArchiveFormat) =>
  new Option('--format <format>', 'oci (an OCI image layout) or docker (docker save)')
    .choices(['oci', 'docker'])
    .default(fallback);
const platformOption = () =>
  new Option('--platform <os/arch[/variant]>', 'the platform of a multi-platform image to use');

/** `berth image import FILE|DIR`: an OCI layout (tar or directory) or a docker save tar. */
export function imageImportCommand(globals: () => GlobalOptions): Command {
  return new Command('import')
    .description('import images from an OCI image layout (tar or directory) or a docker save archive')
    .argument('<archive>', 'a tar file, or a directory holding an OCI image layout')
    .option('--name <image>', 'name the archive’s only image this, instead of the names it carries')
    .addOption(platformOption())
    .option('-q, --quiet', 'print only the image names')
    .action((source: string, opts: ImportFlags) => runImport(globals, source, opts, 'Imported'));
}

/** `berth image export IMAGE... -o FILE [--format oci|docker]`. */
export function imageExportCommand(globals: () => GlobalOptions): Command {
  return new Command('export')
    .description('write images to a tar archive (an OCI image layout, or docker save format)')
    .argument('<image...>', 'images berth has')
    .requiredOption('-o, --output <file>', 'the archive to write')
    .addOption(formatOption('oci'))
    .addOption(platformOption())
    .action((refs: string[], opts: ExportFlags) => runExport(globals, refs, opts));
}

/** docker's `save -o FILE IMAGE...`: a docker save archive unless --format oci. */
export function saveCommand(globals: () => GlobalOptions): Command {
  return new Command('save')
    .description('save images to a tar archive (docker save format by default)')
    .argument('<image...>', 'images berth has')
    .requiredOption('-o, --output <file>', 'the archive to write')
    .addOption(formatOption('docker'))
    .addOption(platformOption())
    .action((refs: string[], opts: ExportFlags) => runExport(globals, refs, opts));
}

/** docker's `load -i FILE`: either archive format. */
export function loadCommand(globals: () => GlobalOptions): Command {
  return new Command('load')
    .description('load images from a docker save or OCI archive')
    .requiredOption('-i, --input <file>', 'the archive to read')
    .addOption(platformOption())
    .option('-q, --quiet', 'print only the image names')
    .action((opts: ImportFlags & { input: string }) => runImport(globals, opts.input, opts, 'Loaded'));
}
