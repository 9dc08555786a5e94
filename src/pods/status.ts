// The pod sandbox state machine (CRI PodSandboxState READY/NOTREADY; containerd
// internal/cri/store/sandbox/status.go), as berth runs it without a daemon: every berth process may
// move a pod along, and each move is one compare-and-set write of the metadata row
// (metadata/pods.ts), so two processes never both win.
//
//             run                          stop                        remove
//   (none) ─────────▶ creating ──────▶ ready ─────────▶ notready ──────────────▶ removing ──▶ (removed)
//                        │                 │  namespaces gone    ▲                  ▲
//                        │ failure, or     └─────────────────────┘                  │
//                        │ creator died:                                            │
//                        ▼ undone, row deleted          remove of a ready pod stops it first
//                     (none)
//
// `creating` pins the namespaces, mounts /dev/shm, runs CNI ADD; each resource is recorded as it is
// acquired, so whoever rolls a dead creation back knows what to undo. `ready` holds the pinned
// namespaces, the shm mount and the CNI attachment. `notready` holds none of them (CNI DEL done,
// namespaces unmounted); the pod's files stay until `remove`. A ready pod whose namespace files are
// gone (the state dir is a tmpfs: a reboot) is found `notready` by the next reader, which also runs
// the DEL the reboot skipped so host-local's reservation is released.

import { FailedPreconditionError } from '../errdefs/index.ts';
import type { Pod, PodStatus } from './types.ts';

/** Stop does work only for these; stopping a notready pod succeeds doing nothing (CRI idempotency). */
export function canStop(status: PodStatus): boolean {
  return status === 'ready' || status === 'notready';
}

export function isReady(status: PodStatus): boolean {
  return status === 'ready';
}

/** Containers may be created in ready pods only (CRI CreateContainer on a notready pod fails). */
export function mustBeReady(p: Pod, op: string): void {
  if (p.status === 'ready') return;
  throw new FailedPreconditionError(`pod ${p.name}: cannot ${op}: it is ${p.status}`);
}

export function mustBeSettled(p: Pod, op: string): void {
  if (p.status === 'creating') {
    throw new FailedPreconditionError(`pod ${p.name}: cannot ${op}: it is still being created`, {
      hint: 'try again in a moment',
    });
  }
}

/** CRI PodSandboxState names, for status output. */
export function criState(status: PodStatus): 'SANDBOX_READY' | 'SANDBOX_NOTREADY' {
  return status === 'ready' ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY';
}
