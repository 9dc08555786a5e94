// RuntimeService.ExecSync: a command in a running container, its output returned whole (capped at
// 16 MiB a stream, CVE-2022-31030), within `timeout` seconds (0: no limit). A command that cannot be
// found or run answers with the shell's convention (exit code 127 / 126 and the message on stderr),
// as containerd's CRI plugin does, so exec probes see a failure, not a transport error.

import type { MessageInitShape } from '@bufbuild/protobuf';
import { ContainerCommandError } from '../../containers/errors.ts';
import { InvalidArgumentError } from '../../errdefs/index.ts';
import type { ExecSyncRequest, ExecSyncResponseSchema } from '../gen/api_pb.js';
import type { ContainerRpcDeps } from './container-deps.ts';

export async function execSync(
  req: ExecSyncRequest,
  deps: ContainerRpcDeps,
  signal: AbortSignal,
): Promise<MessageInitShape<typeof ExecSyncResponseSchema>> {
  if (req.cmd.length === 0) throw new InvalidArgumentError('ExecSync: cmd is empty');
  try {
    const r = await deps.containers.execSync(req.containerId, {
      args: req.cmd,
      signal,
      ...(req.timeout > 0n ? { timeoutMs: Number(req.timeout) * 1000 } : {}),
    });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
  } catch (err) {
    if (err instanceof ContainerCommandError) {
      return { stdout: new Uint8Array(), stderr: Buffer.from(`${err.message}\n`), exitCode: err.exitCode };
    }
    throw err;
  }
}
