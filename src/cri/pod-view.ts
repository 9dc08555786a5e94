// A pod as CreateContainer needs it (container-request.ts PodView), from the pod service's record and
// podContainerSettings (the same settings the pods' own spec options use).

import { NotFoundError } from '../errdefs/index.ts';
import { type Pod, type PodService, podContainerSettings, podName } from '../pods/index.ts';
import { isRuntimeName } from '../runtime/index.ts';
import type { PodView } from './container-request.ts';

export async function podView(pods: PodService, id: string): Promise<PodView> {
  let pod: Pod;
  try {
    pod = await pods.get(id);
  } catch (err) {
    if (err instanceof NotFoundError)
      throw new NotFoundError(`pod sandbox ${JSON.stringify(id)}: not found`, { cause: err });
    throw err;
  }
  const s = podContainerSettings(pod, pods.deps.dirs); // FailedPrecondition unless ready
  const handler = pod.request.runtimeHandler;
  const shm = s.mounts.find((m) => m.destination === '/dev/shm')?.source;
  return {
    id: pod.id,
    ...(pod.namespaces.net === undefined ? {} : { netns: pod.namespaces.net }),
    ...(pod.namespaces.ipc === undefined ? {} : { ipcns: pod.namespaces.ipc }),
    ...(pod.namespaces.uts === undefined ? {} : { utsns: pod.namespaces.uts }),
    ...(pod.namespaces.pid === undefined ? {} : { pidns: pod.namespaces.pid }),
    ...(s.cgroupParent === undefined ? {} : { cgroupParent: s.cgroupParent }),
    ...(pod.request.logDirectory === undefined ? {} : { logDirectory: pod.request.logDirectory }),
    etcFiles: s.etcFiles,
    ...(shm === undefined ? {} : { shm }),
    ...(handler !== undefined && isRuntimeName(handler) ? { runtimeHandler: handler } : {}),
    ...(s.sysctls === undefined ? {} : { sysctls: s.sysctls }),
    nameSuffix: podName(pod.request.metadata),
    hostname: pod.hostname,
  };
}
