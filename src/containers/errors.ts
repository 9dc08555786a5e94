// A start that fails because the container's command cannot be run is the person's mistake, not
// berth's: docker and podman exit 127 when the command is not found and 126 when it cannot be
// invoked, and so does berth (cli/exit-codes.ts). runc and crun report both only as text, which
// reaches berth through conmon's sync pipe; these patterns are their messages (runc
// libcontainer/standard_init_linux.go, crun src/libcrun/linux.c and container.c).

import { FailedPreconditionError, InvalidArgumentError } from '../errdefs/index.ts';

/** The container's command could not be found (exit 127) or invoked (exit 126). */
export class ContainerCommandError extends InvalidArgumentError {
  readonly exitCode: 126 | 127;

  constructor(message: string, exitCode: 126 | 127, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

const notFound = [
  /executable file not found in \$PATH/,
  /executable file `[^`]*` not found/,
  /exec: "[^"]*": stat [^:]*: no such file or directory/,
  /exec(ve)?\b[^:]*: No such file or directory/i,
];
const notInvokable = [/permission denied/i, /exec format error/i, /is a directory/i];

/** The runtime's create or exec error as a ContainerCommandError when it is about the command. */
export function commandError(err: unknown, name: string, args: readonly string[] | undefined): unknown {
  if (!(err instanceof Error)) return err;
  const text = err.message;
  const command = JSON.stringify(args?.[0] ?? '');
  if (notFound.some((re) => re.test(text))) {
    return new ContainerCommandError(
      `container ${name}: command ${command} not found (exec: not found): ${lastLine(text)}`,
      127,
      { cause: err, hint: 'check the command and the image (is it in $PATH inside the image?)' },
    );
  }
  if (/exec/i.test(text) && notInvokable.some((re) => re.test(text))) {
    return new ContainerCommandError(
      `container ${name}: command ${command} cannot be run: ${lastLine(text)}`,
      126,
      {
        cause: err,
      },
    );
  }
  return err;
}

function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .at(-1) ?? text
  );
}

export function notRunning(name: string): FailedPreconditionError {
  return new FailedPreconditionError(`container ${name}: not running`);
}
