// Exit codes follow docker and podman so that scripts written for them keep working:
// 125 means berth itself failed (bad flag, missing image, registry refused…); 126 and 127 mean the
// container's command could not be invoked or was not found; any other code is the container's own.
export const ExitCode = {
  ok: 0,
  berthFailed: 125,
  commandNotInvokable: 126,
  commandNotFound: 127,
} as const;

/**
 * Thrown by a command whose outcome is an exit status rather than an error: the container's own
 * code (`berth run`, `berth exec`), or 1 after a multi-container command reported a failure per
 * container as docker does. runProgram returns `code` without printing anything.
 */
export class ExitStatus {
  readonly code: number;

  constructor(code: number) {
    this.code = code;
  }
}
