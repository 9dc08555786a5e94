// berth's Container → the CRI's Container and ContainerStatus messages (api.proto). Times are Unix
// nanoseconds; the reason follows the kubelet's expectations: "OOMKilled" for an OOM kill,
// "Completed" for exit 0, "Error" otherwise (containerd's CRI plugin uses the same words).

import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Container } from '../containers/index.ts';
import {
  CRI_ATTEMPT_LABEL,
  CRI_IMAGE_LABEL,
  CRI_NAME_LABEL,
  CRI_SANDBOX_LABEL,
  CRI_USER_LABEL_PREFIX,
} from './container-request.ts';
import {
  type ContainerSchema,
  ContainerState,
  type ContainerStatusSchema,
  MountPropagation,
} from './gen/api_pb.js';

export function isCriContainer(c: Container): boolean {
  return c.request.labels?.[CRI_SANDBOX_LABEL] !== undefined;
}

export function sandboxOf(c: Container): string {
  return c.request.labels?.[CRI_SANDBOX_LABEL] ?? '';
}

export function nanos(iso: string | undefined): bigint {
  if (iso === undefined) return 0n;
  return BigInt(Date.parse(iso)) * 1_000_000n;
}

export function criState(c: Container): ContainerState {
  switch (c.status) {
    case 'created':
    case 'creating':
      return ContainerState.CONTAINER_CREATED;
    case 'running':
      return ContainerState.CONTAINER_RUNNING;
    case 'stopped':
    case 'removing':
      return ContainerState.CONTAINER_EXITED;
    case 'unknown':
      return ContainerState.CONTAINER_UNKNOWN;
  }
}

/** The container's CRI labels (berth's own bookkeeping labels left out). */
export function criLabels(c: Container): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.request.labels ?? {})) {
    if (k.startsWith(CRI_USER_LABEL_PREFIX)) out[k.slice(CRI_USER_LABEL_PREFIX.length)] = v;
  }
  return out;
}

/** The annotations the kubelet gave (the io.kubernetes.cri.* ones berth adds left out). */
export function criAnnotations(c: Container): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.request.pod?.annotations ?? {})) {
    if (!k.startsWith('io.kubernetes.cri.')) out[k] = v;
  }
  return out;
}

function metadata(c: Container) {
  const labels = c.request.labels ?? {};
  return { name: labels[CRI_NAME_LABEL] ?? c.name, attempt: Number(labels[CRI_ATTEMPT_LABEL] ?? 0) };
}

function image(c: Container) {
  return { image: c.request.labels?.[CRI_IMAGE_LABEL] || c.image.name };
}

/** The image id the kubelet compares: the config digest (as ImageStatus reports it). */
function imageRef(c: Container): string {
  return c.image.configDigest ?? c.image.digest;
}

export function toCriContainer(c: Container): MessageInitShape<typeof ContainerSchema> {
  return {
    id: c.id,
    podSandboxId: sandboxOf(c),
    metadata: metadata(c),
    image: image(c),
    imageRef: imageRef(c),
    state: criState(c),
    createdAt: nanos(c.createdAt),
    labels: criLabels(c),
    annotations: criAnnotations(c),
  };
}

export function reasonOf(c: Container): string {
  if (c.status !== 'stopped') return '';
  if (c.oomKilled === true) return 'OOMKilled';
  if (c.exitCode === 0) return 'Completed';
  return 'Error';
}

export function toCriStatus(c: Container): MessageInitShape<typeof ContainerStatusSchema> {
  return {
    id: c.id,
    metadata: metadata(c),
    state: criState(c),
    createdAt: nanos(c.createdAt),
    startedAt: nanos(c.startedAt),
    finishedAt: c.status === 'stopped' ? nanos(c.finishedAt) : 0n,
    exitCode: c.exitCode ?? 0,
    image: image(c),
    imageRef: imageRef(c),
    reason: reasonOf(c),
    message: c.status === 'stopped' ? (c.error ?? '') : '',
    labels: criLabels(c),
    annotations: criAnnotations(c),
    mounts: (c.request.pod?.mounts ?? [])
      .filter((m) => m.destination !== '/dev/shm')
      .map((m) => ({
        containerPath: m.destination,
        hostPath: m.source ?? '',
        readonly: m.options?.includes('ro') === true,
        propagation: m.options?.includes('rshared')
          ? MountPropagation.PROPAGATION_BIDIRECTIONAL
          : m.options?.includes('rslave')
            ? MountPropagation.PROPAGATION_HOST_TO_CONTAINER
            : MountPropagation.PROPAGATION_PRIVATE,
      })),
    logPath: c.logPath,
  };
}
