// RuntimeService.Attach: validates the request, checks the container runs, and answers with a one-time
// URL on the stream server, where the client's SPDY connection is joined to the container's own stdio
// (streaming/serve-attach.ts). A tty asked for by a container created without one is refused, as the
// streams would not match what conmon holds.

import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ContainerService } from '../../containers/index.ts';
import { InvalidArgumentError } from '../../errdefs/index.ts';
import type { AttachRequest, AttachResponseSchema } from '../gen/api_pb.js';
import type { StreamUrls } from '../streaming/types.ts';
import { checkStdio, runningCriContainer } from './exec.ts';

export async function attach(
  req: AttachRequest,
  containers: ContainerService,
  urls: StreamUrls,
): Promise<MessageInitShape<typeof AttachResponseSchema>> {
  if (req.containerId === '') throw new InvalidArgumentError('Attach: container_id is required');
  checkStdio('Attach', req);
  const c = await runningCriContainer(containers, req.containerId, 'attach');
  if (req.tty && c.request.tty !== true) {
    throw new InvalidArgumentError(`Attach: container ${c.id} has no terminal (created without tty)`);
  }
  return {
    url: urls.urlFor({
      kind: 'attach',
      containerId: c.id,
      tty: req.tty,
      stdin: req.stdin,
      stdout: req.stdout,
      stderr: req.stderr,
    }),
  };
}
