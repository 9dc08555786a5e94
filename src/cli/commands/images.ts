import { Command } from 'commander';
import type { ImageDetails } from '../../images/index.ts';
import { parseReference } from '../../reference/index.ts';
import { formatAge, formatBytes, formatTable, shortId } from '../format.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';
import { openImageServices } from '../lazy.ts';

/** docker's REPOSITORY column: the familiar repository (`busybox`, `127.0.0.1:5000/x`), and the tag. */
export function repositoryAndTag(name: string): [string, string] {
  const ref = parseReference(name);
  let repo = `${ref.domain}/${ref.path}`;
  if (ref.domain === 'docker.io') repo = ref.path.startsWith('library/') ? ref.path.slice(8) : ref.path;
  return [repo, ref.tag ?? '<none>'];
}

export function imagesCommand(globals: () => GlobalOptions, name = 'images'): Command {
  return new Command(name)
    .description('list images')
    .option('--format <format>', '"table" or "json"', 'table')
    .option('-q, --quiet', 'print only image names')
    .action(async (opts: { format: string; quiet?: boolean }) => {
      await using services = await openImageServices(configFrom(globals()));
      const details: ImageDetails[] = [];
      for (const image of services.images.list()) details.push(await services.images.inspect(image.name));
      if (opts.quiet) {
        process.stdout.write(details.map((d) => `${d.name}\n`).join(''));
      } else if (opts.format === 'json') {
        const out = details.map((d) => ({
          Name: d.name,
          Digest: d.target.digest,
          MediaType: d.target.mediaType,
          Platform: d.platform,
          Size: d.size,
          Created: d.created,
          ChainID: d.chainID,
        }));
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      } else {
        const rows = details.map((d) => {
          const [repo, tag] = repositoryAndTag(d.name);
          return [repo, tag, shortId(d.target.digest), d.platform, formatBytes(d.size), formatAge(d.created)];
        });
        process.stdout.write(
          formatTable(['REPOSITORY', 'TAG', 'DIGEST', 'PLATFORM', 'SIZE', 'CREATED'], rows),
        );
      }
    });
}
