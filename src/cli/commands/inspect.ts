import { Command } from 'commander';
import { NotFoundError } from '../../errdefs/index.ts';
import { ExitStatus } from '../exit-codes.ts';
import { configFrom, type GlobalOptions } from '../global-options.ts';
import { openContainerServices } from '../lazy.ts';
import { reportError } from '../report-error.ts';
import { containerSummary } from './ps.ts';

/**
 * `berth inspect NAME…`: a container (docker's field names, plus the runtime spec it runs with), or,
 * when no container has that name, an image (as `berth image inspect` prints it). One JSON array.
 */
export function inspectCommand(globals: () => GlobalOptions, name = 'inspect'): Command {
  return new Command(name)
    .description('show low-level information on containers or images, as JSON')
    .argument('<name...>')
    .action(async (keys: string[]) => {
      await using services = await openContainerServices(configFrom(globals()), globals());
      const out: unknown[] = [];
      let failed = false;
      for (const key of keys) {
        try {
          const c = await services.containers.get(key);
          out.push({ ...containerSummary(c), Config: c.request, Image: c.image.name, Spec: c.spec ?? null });
        } catch (err) {
          if (!(err instanceof NotFoundError)) {
            failed = true;
            reportError(err);
            continue;
          }
          try {
            out.push(await services.images.inspect(key));
          } catch (imageErr) {
            failed = true;
            reportError(
              imageErr instanceof NotFoundError
                ? new NotFoundError(`no container or image named ${JSON.stringify(key)}`)
                : imageErr,
            );
          }
        }
      }
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      if (failed) throw new ExitStatus(1);
    });
}
