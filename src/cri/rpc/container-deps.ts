// What the container RPCs are built from (berthd constructs them): the container service, a view of
// the pods, and the image store's name resolution (the kubelet names images by id or by reference).

import type { ContainerService } from '../../containers/index.ts';
import type { DeviceFacts, PodView } from '../container-request.ts';

export interface ContainerRpcDeps {
  containers: ContainerService;
  podViews: {
    /** The pod as CreateContainer needs it; NotFound when absent, FailedPrecondition when not ready. */
    view(id: string): Promise<PodView>;
  };
  images: {
    /** The stored image's full name for a CRI image string: a name, `name@digest`, or an image id. */
    resolveName(ref: string): Promise<string>;
  };
  /** The host device node's type and numbers (CRI devices name only paths). */
  statDevice(hostPath: string): DeviceFacts;
}
