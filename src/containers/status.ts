// The container state machine (containerd store/container/status.go, youki state.rs), as berth runs it
// without a daemon: every berth process may move a container along, and each move is one
// compare-and-set write of the metadata row (metadata/containers.ts), so two processes never both win.
//
//            create                 start                 exit (conmon's exit file)
//   (none) ─────────▶ creating ──▶ created ───────▶ running ──────────────▶ stopped
//                        │                            │  ▲                   │   │
//                        │ failure: row removed       │  └───── start ───────┘   │
//                        ▼                            │ conmon lost, runtime     │ rm
//                     (none)                          ▼ says still running      ▼
//                                                  unknown ────── rm -f ───▶ removing ──▶ (none)
//
// `created` holds no process: the rootfs snapshot is prepared, nothing is mounted. `start` mounts
// the rootfs, writes the bundle, has conmon run the runtime's create, then the runtime's start.
// `stopped` holds no process and no mount either; the snapshot (the container's writes) stays until
// `rm`, so a stopped container can be started again, as with docker.

import { FailedPreconditionError } from '../errdefs/index.ts';
import type { Container, ContainerStatus } from './types.ts';

export function canStart(status: ContainerStatus): boolean {
  return status === 'created' || status === 'stopped';
}

/** States with (possibly) a live process that a signal can reach. */
export function isLive(status: ContainerStatus): boolean {
  return status === 'running' || status === 'unknown';
}

export function mustStart(c: Container): void {
  if (canStart(c.status)) return;
  if (c.status === 'running') {
    throw new FailedPreconditionError(`container ${c.name}: already running`);
  }
  throw new FailedPreconditionError(`container ${c.name}: cannot start while ${c.status}`);
}

export function mustBeRunning(c: Container, op: string): void {
  if (isLive(c.status)) return;
  throw new FailedPreconditionError(`container ${c.name}: cannot ${op}: it is not running (${c.status})`, {
    hint:
      c.status === 'stopped' || c.status === 'created' ? `start it first: berth start ${c.name}` : undefined,
  });
}

/** docker ps's STATUS column: `Up 3 seconds`, `Exited (0) 2 minutes ago`, `Created`. */
export function describeStatus(c: Container, now = Date.now()): string {
  switch (c.status) {
    case 'running':
      return c.startedAt === undefined ? 'Starting' : `Up ${ago(now - Date.parse(c.startedAt))}`;
    case 'stopped': {
      const code = c.exitCode === undefined ? '?' : String(c.exitCode);
      const when = c.finishedAt === undefined ? '' : ` ${ago(now - Date.parse(c.finishedAt))} ago`;
      return `Exited (${code})${when}${c.oomKilled === true ? ' (OOMKilled)' : ''}`;
    }
    case 'creating':
      return 'Creating';
    case 'created':
      return 'Created';
    case 'removing':
      return 'Removing';
    case 'unknown':
      return 'Unknown (shim lost)';
  }
}

/** A duration the way docker prints it: `Less than a second`, `3 seconds`, `About a minute`, … */
export function ago(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 1) return 'Less than a second';
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.floor(m / 60);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  return `${Math.floor(h / 24)} days`;
}
