import { isBerthError } from '../errdefs/index.ts';
import { ExitCode } from './exit-codes.ts';

/**
 * Prints one line for the person at the terminal (plus a hint line when the error has one) and
 * returns the exit code. Stack traces only with BERTH_DEBUG=1: they are for bug reports.
 */
export function reportError(err: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  const debug = process.env.BERTH_DEBUG === '1';
  if (isBerthError(err)) {
    stderr.write(`berth: ${err.message}\n`);
    if (err.hint !== undefined) stderr.write(`hint: ${err.hint}\n`);
    if (debug) stderr.write(`${err.stack}\n`);
    // The container's command could not be found or run: 127 / 126, as docker and podman exit.
    const code = (err as { exitCode?: unknown }).exitCode;
    return code === ExitCode.commandNotFound || code === ExitCode.commandNotInvokable
      ? code
      : ExitCode.berthFailed;
  }
  // Anything else is a bug in berth: say so, with the stack, so it can be reported.
  stderr.write(`berth: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
  stderr.write(err instanceof Error && err.stack ? `${err.stack}\n` : '');
  return ExitCode.berthFailed;
}
