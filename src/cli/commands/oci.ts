// `berth oci spec`: prints the runtime-spec config.json every container starts from, like
// `ctr oci spec` (containerd's default spec, indented with four spaces) and `runc spec`. The spec
// module is loaded only when the command runs, so `berth --help` does not pay for it.

import { release } from 'node:os';
import { Command } from 'commander';
import type { GlobalOptions } from '../global-options.ts';

export function ociCommand(_globals: () => GlobalOptions): Command {
  const cmd = new Command('oci').description('OCI runtime-spec helpers');
  cmd
    .command('spec')
    .description("print the default runtime-spec config.json (containerd's defaults and seccomp profile)")
    .option('--id <id>', 'container id, which names the cgroup path', 'example')
    .action(async (opts: { id: string }) => {
      const { defaultSpec } = await import('../../spec/index.ts');
      const spec = await defaultSpec({ id: opts.id, kernelRelease: release() });
      process.stdout.write(`${JSON.stringify(spec, null, 4)}\n`);
    });
  return cmd;
}
