// Exit codes follow docker and podman so that scripts written for them keep working:
// 125 means berth itself failed (bad flag, missing image, registry refused…); 126 and 127 mean the
// container's command could not be invoked or was not found; any other code is the container's own.
export const ExitCode = {
  ok: 0,
  berthFailed: 125,
  commandNotInvokable: 126,
  commandNotFound: 127,
} as const;
