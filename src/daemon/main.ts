import { versionLine } from '../util/version.ts';

// berthd, the Kubernetes CRI daemon. `--version` answers before the server's modules (HTTP/2,
// connect, the generated protobuf code) load, as the CLI's does.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  process.stdout.write(`${versionLine().replace(/^berth /, 'berthd ')}\n`);
} else {
  const { serve } = await import('./serve.ts');
  process.exitCode = await serve(args);
}
