// RuntimeService RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus, ListPodSandbox.
// Idempotency as api.proto says: stopping a stopped pod and removing an absent one succeed; stopping
// a pod stops its containers first, removing one removes them ("forcibly terminating" them).

import type { MessageInitShape } from '@bufbuild/protobuf';
import { InvalidArgumentError, NotFoundError } from '../../errdefs/index.ts';
import type { PodService } from '../../pods/index.ts';
import type { ContainerEvents } from '../container-events.ts';
import { isCriContainer, sandboxOf } from '../container-view.ts';
import type {
  ListPodSandboxRequest,
  ListPodSandboxResponseSchema,
  PodSandboxStatusRequest,
  PodSandboxStatusResponseSchema,
  RemovePodSandboxRequest,
  RemovePodSandboxResponseSchema,
  RunPodSandboxRequest,
  RunPodSandboxResponseSchema,
  StopPodSandboxRequest,
  StopPodSandboxResponseSchema,
} from '../gen/api_pb.js';
import { runPodRequest, toPodSandbox, toPodSandboxStatus } from '../pod-request.ts';
import type { ContainerRpcDeps } from './container-deps.ts';

export interface PodRpcDeps extends Pick<ContainerRpcDeps, 'containers'> {
  pods: PodService;
  /** GetContainerEvents' source. */
  events: ContainerEvents;
  /** Seconds a pod's containers get between SIGTERM and SIGKILL when the pod stops. */
  stopGraceSeconds?: number;
}

const ignoreNotFound = (err: unknown) => {
  if (!(err instanceof NotFoundError)) throw err;
};

/** The full id of the pod `key` names, or undefined when there is none. */
async function existingPod(deps: PodRpcDeps, key: string, signal: AbortSignal): Promise<string | undefined> {
  try {
    return (await deps.pods.get(key, { signal })).id;
  } catch (err) {
    ignoreNotFound(err);
    return undefined;
  }
}

async function containersOf(deps: PodRpcDeps, podId: string) {
  return (await deps.containers.list()).filter((c) => isCriContainer(c) && sandboxOf(c) === podId);
}

export async function runPodSandbox(
  req: RunPodSandboxRequest,
  deps: PodRpcDeps,
  signal: AbortSignal,
): Promise<MessageInitShape<typeof RunPodSandboxResponseSchema>> {
  if (req.config === undefined) throw new InvalidArgumentError('RunPodSandbox: config is required');
  const pod = await deps.pods.run(runPodRequest(req.config, req.runtimeHandler), { signal });
  return { podSandboxId: pod.id };
}

export async function stopPodSandbox(
  req: StopPodSandboxRequest,
  deps: PodRpcDeps,
  signal: AbortSignal,
): Promise<MessageInitShape<typeof StopPodSandboxResponseSchema>> {
  const id = await existingPod(deps, req.podSandboxId, signal);
  if (id === undefined) return {}; // api.proto: a pod that is gone is stopped and removed already
  for (const c of await containersOf(deps, id)) {
    await deps.containers.stop(c.id, deps.stopGraceSeconds ?? 0).catch(ignoreNotFound);
  }
  await deps.pods.stop(id, { signal }).catch(ignoreNotFound);
  return {};
}

export async function removePodSandbox(
  req: RemovePodSandboxRequest,
  deps: PodRpcDeps,
  signal: AbortSignal,
): Promise<MessageInitShape<typeof RemovePodSandboxResponseSchema>> {
  const id = await existingPod(deps, req.podSandboxId, signal);
  if (id === undefined) return {}; // api.proto: a pod that is gone is stopped and removed already
  for (const c of await containersOf(deps, id)) {
    await deps.containers.remove(c.id, { force: true }).catch(ignoreNotFound);
  }
  await deps.pods.remove(id, { signal }).catch(ignoreNotFound);
  return {};
}

export async function podSandboxStatus(
  req: PodSandboxStatusRequest,
  deps: PodRpcDeps,
  signal: AbortSignal,
): Promise<MessageInitShape<typeof PodSandboxStatusResponseSchema>> {
  const pod = await deps.pods.get(req.podSandboxId, { signal });
  const info: Record<string, string> = {};
  if (req.verbose)
    info.info = JSON.stringify({
      pid: 0,
      namespaces: pod.namespaces,
      network: pod.network ?? null,
      request: pod.request,
    });
  return { status: toPodSandboxStatus(pod), info };
}

export async function listPodSandbox(
  req: ListPodSandboxRequest,
  deps: PodRpcDeps,
  signal: AbortSignal,
): Promise<MessageInitShape<typeof ListPodSandboxResponseSchema>> {
  const f = req.filter;
  const items = (await deps.pods.list({ signal }))
    .filter((p) => p.status !== 'creating' && p.status !== 'removing')
    .map(toPodSandbox)
    .filter((p) => {
      if (f === undefined) return true;
      if (f.id !== '' && !(p.id ?? '').startsWith(f.id)) return false;
      if (f.state !== undefined && p.state !== f.state.state) return false;
      return Object.entries(f.labelSelector).every(([k, v]) => p.labels?.[k] === v);
    });
  return { items };
}
