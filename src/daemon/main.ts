import { versionLine } from '../util/version.ts';

// berthd serves the Kubernetes CRI; the server arrives with the CRI issue. For now it answers
// --version so that the launcher and the Node version check are exercised like the CLI's.
const args = process.argv.slice(2);
if (args.includes('--version') || args.includes('-v')) {
  process.stdout.write(`${versionLine().replace(/^berth /, 'berthd ')}\n`);
} else {
  process.stderr.write('berthd: the CRI server is not built yet (see the issues); only --version works\n');
  process.exitCode = 125;
}
