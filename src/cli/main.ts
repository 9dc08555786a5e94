import { versionLine } from '../util/version.ts';

// The CLI's entry. `berth --version` answers before the command table (commander and every
// command's imports) is loaded: it is what scripts and health checks run most often.
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  process.stdout.write(`${versionLine()}\n`);
} else {
  const { runProgram } = await import('./program.ts');
  process.exitCode = await runProgram(argv);
}
