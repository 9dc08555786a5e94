// RuntimeService.Exec: validates the request, checks the container runs, and answers with a one-time
// URL on the stream server (streaming/server.ts), where the client's SPDY connection runs the command.
// Validation as the kubelet's streaming server does it (validateExecRequest). A terminal (tty) is
// served through conmon's exec mode (streaming/serve-exec-tty.ts). Bad requests fail here, before the
// client connects, rather than after the upgrade.

import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ContainerService } from '../../containers/index.ts';
import { mustBeRunning } from '../../containers/status.ts';
import { InvalidArgumentError, NotFoundError } from '../../errdefs/index.ts';
import { isCriContainer } from '../container-view.ts';
import type { ExecRequest, ExecResponseSchema } from '../gen/api_pb.js';
import type { StreamUrls } from '../streaming/types.ts';

/** The running CRI container `id`; NotFound / FailedPrecondition otherwise. */
export async function runningCriContainer(containers: ContainerService, id: string, op: string) {
  const c = await containers.get(id);
  if (!isCriContainer(c)) throw new NotFoundError(`container ${JSON.stringify(id)}: not found`);
  mustBeRunning(c, op);
  return c;
}

/** The stdio checks Exec and Attach share (api.proto: "tty and stderr cannot both be true"). */
export function checkStdio(
  rpc: string,
  req: { tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean },
) {
  if (req.tty && req.stderr) {
    throw new InvalidArgumentError(`${rpc}: tty and stderr cannot both be true`, {
      hint: 'a terminal merges stderr into stdout',
    });
  }
  if (!req.stdin && !req.stdout && !req.stderr) {
    throw new InvalidArgumentError(`${rpc}: one of stdin, stdout or stderr must be set`);
  }
}

export async function exec(
  req: ExecRequest,
  containers: ContainerService,
  urls: StreamUrls,
): Promise<MessageInitShape<typeof ExecResponseSchema>> {
  if (req.containerId === '') throw new InvalidArgumentError('Exec: container_id is required');
  if (req.cmd.length === 0) throw new InvalidArgumentError('Exec: cmd is empty');
  checkStdio('Exec', req);
  const c = await runningCriContainer(containers, req.containerId, 'exec');
  return {
    url: urls.urlFor({
      kind: 'exec',
      containerId: c.id,
      cmd: [...req.cmd],
      tty: req.tty,
      stdin: req.stdin,
      stdout: req.stdout,
      stderr: req.stderr,
    }),
  };
}
