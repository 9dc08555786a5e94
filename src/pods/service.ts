// The pod sandbox service (layer 4): run, stop, remove, get, list over the state machine of status.ts.
// There is no daemon: the truth is the metadata row plus the mounts and CNI state it names, and
// whichever berth process looks first brings the row up to date (`refresh`): a creation whose creator
// died is undone, a ready pod whose namespace files are gone (a reboot emptied the state dir) or
// whose infra process died is torn down to `notready`, its DEL run so the IP reservation is released. Containers join a ready pod
// through `specOpts`.

import { hostname as osHostname } from 'node:os';
import type { CniClient, DelRetryOptions, NetworkStatus } from '../cni/index.ts';
import { FailedPreconditionError, NotFoundError } from '../errdefs/index.ts';
import type { Metadata } from '../metadata/index.ts';
import { isAlive } from '../shim/index.ts';
import type { SpecOpt } from '../spec/index.ts';
import { exclusive } from './claim.ts';
import { infraAlive } from './infra.ts';
import { type PodDirs, type PodPaths, podPaths } from './layout.ts';
import { isPinned } from './namespaces.ts';
import { PodRecords } from './records.ts';
import { podNetwork, type RunDeps, rollback, runPod } from './run.ts';
import { podSpecOpts } from './spec-opts.ts';
import { mustBeSettled } from './status.ts';
import { removePodDir, teardownPod } from './teardown.ts';
import type { Pod, RunPodRequest } from './types.ts';

export interface PodServiceDeps extends Omit<RunDeps, 'hostname' | 'cni'> {
  metadata: Pick<Metadata, 'pods'>;
  cni: Pick<CniClient, 'add' | 'del' | 'check' | 'status'>;
  dirs: PodDirs;
  /** The host's name, for pods with the host's network (default: os.hostname()). */
  hostname?: () => string;
  delRetry?: Pick<DelRetryOptions, 'attempts' | 'backoffMs' | 'onRetry'>;
}

interface Signal {
  signal?: AbortSignal;
}

export class PodService {
  readonly deps: RunDeps & PodServiceDeps;
  readonly records: PodRecords;

  constructor(deps: PodServiceDeps) {
    this.deps = { ...deps, hostname: deps.hostname ?? osHostname };
    this.records = new PodRecords(deps.metadata.pods);
  }

  /** RunPodSandbox: a ready pod, or an error with nothing left behind. */
  run(req: RunPodRequest, opts: Signal = {}): Promise<Pod> {
    return runPod(this.deps, this.records, req, opts);
  }

  /** The pod by id, name or id prefix, brought up to date; NotFound when gone. */
  async get(key: string, opts: Signal = {}): Promise<Pod> {
    const p = await this.refresh(this.records.find(key), opts);
    if (p === undefined) throw new NotFoundError(`pod ${JSON.stringify(key)}: not found`);
    return p;
  }

  async list(opts: Signal = {}): Promise<Pod[]> {
    const all = await Promise.all(this.records.list().map((p) => this.refresh(p, opts)));
    return all.filter((p): p is Pod => p !== undefined);
  }

  /** StopPodSandbox: CNI DEL, namespaces and shm released; the pod stays, `notready`. Idempotent. */
  async stop(key: string, opts: Signal = {}): Promise<Pod> {
    const p = await this.get(key, opts);
    mustBeSettled(p, 'stop');
    if (p.status === 'removing' || (p.status === 'notready' && !holdsResources(p))) return p;
    const stopped = await exclusive(this.records, p.id, { wait: true, ...opts }, async (q) => {
      // A stop that held the claim before us may have done the work already.
      if (q.status !== 'ready' && !holdsResources(q))
        return this.records.save(q, q.status, { claim: undefined });
      await teardownPod(this.deps, q, opts);
      return this.records.save(q, 'notready', {
        ...released,
        stoppedAt: q.stoppedAt ?? new Date().toISOString(),
      });
    });
    return stopped!;
  }

  /** RemovePodSandbox: stops the pod if needed, removes its files and row. NotFound when gone. */
  async remove(key: string, opts: Signal = {}): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let p = await this.stop(key, opts);
      try {
        if (p.status !== 'removing') p = this.records.save(p, 'removing');
      } catch (err) {
        // Changed by another process meanwhile (a concurrent remove or stop): look again.
        if (!(err instanceof FailedPreconditionError) || attempt >= 3) throw err;
        continue;
      }
      await removePodDir(this.deps.dirs, p.id);
      this.records.delete(p.id);
      return;
    }
  }

  /** CNI CHECK of a ready pod's attachment (the plugins verify its interface and addresses). */
  async checkNetwork(key: string, opts: Signal = {}): Promise<void> {
    const p = await this.get(key, opts);
    if (p.status !== 'ready' || p.network === undefined) return;
    await this.deps.cni.check(p.network, opts);
  }

  /** The CRI's NetworkReady condition: a valid config in the conf dir, its plugins present and ready. */
  async networkStatus(opts: Signal = {}): Promise<NetworkStatus> {
    try {
      return await this.deps.cni.status(await podNetwork(this.deps, opts.signal), opts);
    } catch (err) {
      if (err instanceof NotFoundError) return { ready: false, reason: err.message };
      throw err;
    }
  }

  /** What a container of the pod needs in its spec (spec-opts.ts); the pod must be ready. */
  specOpts(pod: Pod): SpecOpt[] {
    return podSpecOpts(pod, this.deps.dirs);
  }

  paths(id: string): PodPaths {
    return podPaths(this.deps.dirs, id);
  }

  /** Brings `p` up to date with the processes and mounts; undefined when it turned out to be gone. */
  async refresh(p: Pod, opts: Signal = {}): Promise<Pod | undefined> {
    if (p.status === 'creating' && !creatorAlive(p)) {
      // Another reader holding the claim is rolling it back: leave it to them (wait: false).
      const done = await exclusive(this.records, p.id, { wait: false, ...opts }, async (q) => {
        if (q.status !== 'creating' || creatorAlive(q)) return q;
        await rollback(this.deps, this.records, q.id, new Error('its creator exited before finishing'));
        return undefined;
      }).catch((err: unknown) => {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      });
      return done ?? undefined;
    }
    if (p.status === 'ready' && !(await pinnedStill(p))) {
      // A DEL with a vanished namespace file goes with an empty CNI_NETNS (cni/client.ts).
      const now = await exclusive(this.records, p.id, { wait: false, ...opts }, async (q) => {
        if (q.status !== 'ready' || (await pinnedStill(q)))
          return this.records.save(q, q.status, { claim: undefined });
        await teardownPod(this.deps, q, opts);
        return this.records.save(q, 'notready', released);
      });
      return now ?? this.records.get(p.id);
    }
    return p;
  }
}

/** The record changes once a teardown has released everything (the claim included). */
const released = { network: undefined, namespaces: {}, infra: undefined, shm: undefined, claim: undefined };

function holdsResources(p: Pod): boolean {
  return (
    p.network !== undefined ||
    p.shm !== undefined ||
    p.infra !== undefined ||
    Object.keys(p.namespaces).length > 0
  );
}

function creatorAlive(p: Pod): boolean {
  return p.creator !== undefined && isAlive(p.creator);
}

/** The namespace files still mounted, and the infra process (if any) still the one recorded. */
async function pinnedStill(p: Pod): Promise<boolean> {
  if (!Object.values(p.namespaces).every((f) => f === undefined || isPinned(f))) return false;
  return p.infra === undefined || (await infraAlive(p.infra));
}
