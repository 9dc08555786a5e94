// The pod's infra process, made only for a pod whose containers share one PID namespace (CRI
// NamespaceOption.pid = POD, Kubernetes' shareProcessNamespace). A PID namespace cannot live on a
// bind mount alone as net/ipc/uts do: once its init (PID 1) exits the kernel kills everything in it
// and no process can enter it again (pid_namespaces(7)). So the pod gets a tiny PID 1: util-linux's
// `unshare --pid --fork --kill-child` forks perl (perl-base is Essential on Debian) into the new
// namespace, where it reaps whatever the kernel reparents to it (a namespace's init must, or orphans
// stay zombies) and sleeps otherwise. As an init it gets only the signals it handles (SIGCHLD), and
// from outside SIGKILL. It runs in its own session with no stdio, so it outlives berthd and the CLI;
// unshare stays its parent and exits with it. Its pid and start time (field 22 of /proc/<pid>/stat,
// guarding against pid reuse) are recorded in the pod, and its namespace file is bind-mounted at
// `<pod>/ns/pid`, which the pod's containers join by path like the others.

import { spawn } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { InternalError, isErrno } from '../errdefs/index.ts';
import { mountAll } from '../mount/index.ts';
import { isAlive, signalPid, waitGone } from '../shim/index.ts';
import { HOST_TOOL_DEADLINE_MS, hostTool } from './host-tools.ts';
import type { PodPaths } from './layout.ts';
import type { InfraProcess } from './types.ts';

/** PID 1's whole program: reap every exited child on SIGCHLD (WNOHANG is 1 on Linux), sleep. */
export const REAPER = '$SIG{CHLD} = sub { 1 while waitpid(-1, 1) > 0 }; sleep while 1';

/** The argv of the infra process; the pod id is there for `ps` only. */
export function infraArgv(podId: string): string[] {
  return [
    '--pid',
    '--fork',
    '--kill-child=SIGKILL',
    hostTool('perl'),
    '-e',
    REAPER,
    'berth-pod-infra',
    podId,
  ];
}

/** The start time of `pid` (clock ticks after boot), or undefined when there is no such process. */
export async function startTimeOf(pid: number): Promise<string | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ESRCH')) return undefined;
    throw err;
  }
  // proc(5): "pid (comm) state ppid …"; after the last ')' field 3 (state) comes first, so 22 is [19].
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** Whether the recorded infra process still runs (the same process: its start time matches). */
export async function infraAlive(infra: InfraProcess): Promise<boolean> {
  return isAlive(infra.pid) && (await startTimeOf(infra.pid)) === infra.startTime;
}

/** Starts the infra process: resolves once its PID 1 exists, with the pid and start time to record. */
export async function startInfra(podId: string): Promise<InfraProcess> {
  const child = spawn(hostTool('unshare'), infraArgv(podId), { detached: true, stdio: 'ignore' });
  child.unref();
  const parent = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('spawn', () => resolve(child.pid!));
  });
  const until = Date.now() + HOST_TOOL_DEADLINE_MS;
  for (;;) {
    // unshare's only child is the namespace's PID 1 (proc(5) /proc/<pid>/task/<tid>/children).
    const children = await readFile(`/proc/${parent}/task/${parent}/children`, 'utf8').catch(() => '');
    const pid = Number.parseInt(children.trim().split(' ')[0] ?? '', 10);
    if (pid > 0) {
      const startTime = await startTimeOf(pid);
      if (startTime !== undefined) return { pid, startTime };
    }
    if (child.exitCode !== null || child.signalCode !== null || Date.now() >= until) {
      signalPid(parent, 'SIGKILL'); // --kill-child takes its child along
      throw new InternalError(
        `pod ${podId}: the infra process did not start (unshare ${child.exitCode !== null ? `exited with ${child.exitCode}` : child.signalCode !== null ? `killed by ${child.signalCode}` : 'timed out'})`,
      );
    }
    await sleep(5);
  }
}

/** Bind-mounts the infra process's PID namespace at `paths.pidns`; returns the file. */
export async function pinPidNamespace(
  paths: PodPaths,
  infra: InfraProcess,
  signal?: AbortSignal,
): Promise<string> {
  await mkdir(paths.nsDir, { recursive: true, mode: 0o755 });
  // 'wx': a fresh pod has no such file (see namespaces.ts).
  await (await open(paths.pidns, 'wx', 0o444)).close();
  await mountAll(
    [{ type: 'none', source: `/proc/${infra.pid}/ns/pid`, options: ['bind'] }],
    paths.pidns,
    signal,
  );
  // The pid was read before the mount: make sure it was still the infra process's then.
  if (!(await infraAlive(infra)))
    throw new InternalError(`infra process ${infra.pid} exited while its namespace was pinned`);
  return paths.pidns;
}

/** Kills the infra process (and so every process in the pod's PID namespace) and waits for it. */
export async function stopInfra(infra: InfraProcess): Promise<void> {
  if (!(await infraAlive(infra))) return;
  signalPid(infra.pid, 'SIGKILL');
  if (!(await waitGone(infra.pid, HOST_TOOL_DEADLINE_MS)))
    throw new InternalError(`infra process ${infra.pid}: still running after SIGKILL`);
}
