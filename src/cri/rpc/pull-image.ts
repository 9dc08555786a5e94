// ImageService.PullImage: pulls the image for this node's platform and answers its id (api.proto
// PullImageResponse.image_ref "Reference to the image in use. For most runtimes, this should be an
// image ID or digest"): the config digest, as containerd answers, which the kubelet then passes to
// CreateContainer and ImageStatus. `auth` carries explicit credentials for this pull (pull-auth.ts);
// `sandbox_config` is the pod the image is for, which matters only to runtimes that pull per
// runtime class or into a VM: here it only names the pod in the log.

import type { MessageInitShape } from '@bufbuild/protobuf';
import { formatReference, parseReference } from '../../reference/index.ts';
import type { PodSandboxConfig, PullImageRequest, PullImageResponseSchema } from '../gen/api_pb.js';
import { naming, requireImage } from '../image-spec.ts';
import { pullCredentials } from '../pull-auth.ts';
import type { ImageRpcDeps } from './image-deps.ts';

function forPod(sandbox: PodSandboxConfig | undefined): string {
  const m = sandbox?.metadata;
  return m === undefined ? '' : ` for pod ${m.namespace}/${m.name}`;
}

export async function pullImage(
  req: PullImageRequest,
  deps: Pick<ImageRpcDeps, 'pull' | 'log'>,
  signal: AbortSignal,
): Promise<MessageInitShape<typeof PullImageResponseSchema>> {
  const image = requireImage(req.image, 'image');
  const ref = await naming('image.image', async () => parseReference(image));
  const credentials = pullCredentials(req.auth, ref.domain);
  const name = formatReference(ref);
  deps.log(
    `pulling ${name}${forPod(req.sandboxConfig)}${credentials === undefined ? '' : ' with credentials'}`,
  );
  const pulled = await deps.pull(name, { ...(credentials === undefined ? {} : { credentials }), signal });
  return { imageRef: pulled.config.digest };
}
