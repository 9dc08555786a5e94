// The container lifecycle service: create, start, stop, kill, remove, wait, list, exec, over the state
// machine of status.ts. There is no daemon: the truth is the metadata row plus the processes and
// files it names, and whichever berth process looks first brings the row up to date (`refresh`):
// conmon's exit file means the container exited, a dead starter means a start was interrupted, a
// dead conmon without an exit file means the shim was lost.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isOomKill } from '../cgroups/index.ts';
import { DeadlineExceededError, InvalidArgumentError, NotFoundError } from '../errdefs/index.ts';
import { isAlive, readExitCode, watchExit } from '../shim/index.ts';
import { mark } from '../util/trace.ts';
import { createContainer } from './create.ts';
import type { ContainerServiceDeps } from './deps.ts';
import { type ExecRequest, execInContainer } from './exec.ts';
import { type ExecSession, type ExecSessionOptions, startExecSession } from './exec-session.ts';
import { type ExecSyncResult, execSync } from './exec-sync.ts';
import { containerPaths } from './layout.ts';
import { ContainerRecords, recordOf } from './records.ts';
import { startContainer } from './start.ts';
import { isLive, mustBeRunning, mustStart } from './status.ts';
import { cgroupsPathOf, teardown } from './teardown.ts';
import type { Container, CreateRequest } from './types.ts';
import { removeContainerFiles } from './volumes-cleanup.ts';

/** docker stop's default grace period before SIGKILL. */
export const DEFAULT_STOP_TIMEOUT_S = 10;
/** How long a SIGKILLed container may take to be reported gone. */
export const KILL_DEADLINE_MS = 10_000;

export class ContainerService {
  readonly deps: ContainerServiceDeps;
  readonly records: ContainerRecords;

  constructor(deps: ContainerServiceDeps) {
    this.deps = deps;
    this.records = new ContainerRecords(deps.metadata.containers);
  }

  create(req: CreateRequest, opts: { signal?: AbortSignal } = {}): Promise<Container> {
    return createContainer(this.deps, this.records, req, opts);
  }

  /** The container by id, name or id prefix, brought up to date. */
  async get(key: string): Promise<Container> {
    return this.refresh(this.records.find(key));
  }

  async list(): Promise<Container[]> {
    return Promise.all(this.records.list().map((c) => this.refresh(c)));
  }

  /** Starts a created or stopped container. `detached`: nobody waits for it (see deps.cleanupCommand). */
  async start(key: string, opts: { detached?: boolean; signal?: AbortSignal } = {}): Promise<Container> {
    let c = await this.get(key);
    mustStart(c);
    const before = c.status;
    c = this.records.save(c, 'running', {
      starter: process.pid,
      conmonPid: undefined,
      pid: undefined,
      exitCode: undefined,
      finishedAt: undefined,
      oomKilled: undefined,
      error: undefined,
    });
    try {
      const started = await startContainer(this.deps, recordOf(c), {
        detached: opts.detached === true,
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      });
      return this.records.save(c, 'running', {
        starter: undefined,
        spec: started.spec,
        conmonPid: started.shim.conmonPid,
        pid: started.shim.containerPid,
        startedAt: new Date().toISOString(),
        startCount: c.startCount + 1,
      });
    } catch (err) {
      this.records.save(c, before, {
        starter: undefined,
        error: err instanceof Error ? err.message : String(err),
      });
      throw err;
    }
  }

  /** Waits for the container to exit and returns it stopped (with its exit code). */
  async wait(key: string, opts: { signal?: AbortSignal } = {}): Promise<Container> {
    for (;;) {
      const c = await this.get(key);
      if (!isLive(c.status) || c.conmonPid === undefined) {
        if (c.status !== 'running' && c.status !== 'unknown') return c;
        await sleep(50, undefined, opts.signal === undefined ? {} : { signal: opts.signal });
        continue;
      }
      if (c.status === 'unknown') {
        await sleep(250, undefined, opts.signal === undefined ? {} : { signal: opts.signal });
        continue;
      }
      await watchExit(containerPaths(this.deps.dirs, c.id).exitDir, c.id, {
        conmonPid: c.conmonPid,
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      });
    }
  }

  async kill(key: string, signal = 'KILL'): Promise<Container> {
    const c = await this.get(key);
    mustBeRunning(c, 'kill');
    await this.deps.runtime(c.runtime).kill(c.id, signal);
    return c;
  }

  /** SIGTERM (or the image's StopSignal), then SIGKILL after `timeoutS`; stopping a stopped one is fine. */
  async stop(key: string, timeoutS = DEFAULT_STOP_TIMEOUT_S): Promise<Container> {
    const c = await this.get(key);
    if (!isLive(c.status)) return c;
    const runtime = this.deps.runtime(c.runtime);
    const stopSignal = c.image.config.config?.StopSignal ?? 'TERM';
    if (timeoutS > 0) {
      await runtime.kill(c.id, stopSignal);
      const exited = await this.#waitFor(c.id, timeoutS * 1000);
      if (exited !== undefined) return exited;
    }
    await runtime.kill(c.id, 'KILL', { all: true });
    const exited = await this.#waitFor(c.id, KILL_DEADLINE_MS);
    if (exited === undefined) {
      throw new DeadlineExceededError(
        `container ${c.name}: still running ${KILL_DEADLINE_MS} ms after SIGKILL`,
      );
    }
    return exited;
  }

  /** Removes a container that is not running (`force`: kill it first). Returns its name. */
  async remove(key: string, opts: { force?: boolean } = {}): Promise<Container> {
    let c = await this.get(key);
    if (isLive(c.status)) {
      if (opts.force !== true) {
        throw new InvalidArgumentError(`container ${c.name}: cannot remove a running container`, {
          hint: `stop it first (berth stop ${c.name}) or use rm -f`,
        });
      }
      c = await this.stop(c.id, 0);
    }
    // A created or stopped container was taken down when it got there (#finish, a failed start);
    // only a removal that was interrupted, or a container in another state, needs a teardown now.
    const tornDown = c.status === 'created' || c.status === 'stopped';
    if (c.status !== 'removing') c = this.records.save(c, 'removing');
    if (!tornDown) await teardown(this.deps, recordOf(c));
    await this.deps.snapshotter.remove(c.snapshotKey).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
    await removeContainerFiles(this.deps.dirs, recordOf(c));
    try {
      this.records.delete(c.id);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err; // removed meanwhile by another process: done
    }
    return c;
  }

  exec(key: string, req: ExecRequest): Promise<number> {
    return this.get(key).then((c) => {
      mustBeRunning(c, 'exec');
      return execInContainer(this.deps, c, req);
    });
  }

  /**
   * An exec under conmon (exec-session.ts), for a terminal: the caller follows `logPath`, attaches
   * through `opts.attach`, sizes through `ctlPath`, `wait()`s and always `close()`s.
   */
  async execSession(key: string, req: ExecRequest, opts: ExecSessionOptions = {}): Promise<ExecSession> {
    const c = await this.get(key);
    mustBeRunning(c, 'exec');
    return startExecSession(this.deps, c, req, opts);
  }

  /** ExecSync (CRI): the command's exit code and its output, capped (exec-sync.ts). */
  async execSync(key: string, req: Parameters<typeof execSync>[2]): Promise<ExecSyncResult> {
    const c = await this.get(key);
    mustBeRunning(c, 'exec');
    return execSync(this.deps, c, req);
  }

  /** What conmon's cleanup command runs: record the exit, take the container down, `--rm` it. */
  async cleanup(key: string): Promise<void> {
    await this.get(key).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err; // already removed (berth run --rm got there first)
    });
  }

  /** The container stopped within `ms`, or undefined. */
  async #waitFor(id: string, ms: number): Promise<Container | undefined> {
    const signal = AbortSignal.timeout(ms);
    try {
      return await this.wait(id, { signal });
    } catch (err) {
      if (signal.aborted) return undefined;
      throw err;
    }
  }

  /**
   * Brings the row up to date with the processes and files it names (see the file comment); an
   * `--rm` container found exited is removed, and returned as it was last seen.
   */
  async refresh(c: Container): Promise<Container> {
    if (c.status === 'running' && c.starter !== undefined) {
      if (c.starter === process.pid || isAlive(c.starter)) return c; // a start under way
      await teardown(this.deps, recordOf(c));
      return this.#saveOrReread(c, c.startCount > 0 ? 'stopped' : 'created', {
        starter: undefined,
        error: 'start interrupted: the berth process starting it died',
      });
    }
    if (c.status !== 'running' && c.status !== 'unknown') return c;
    const paths = containerPaths(this.deps.dirs, c.id);
    const code = await readExitCode(paths.exitDir, c.id);
    if (code !== undefined) return this.#finish(c, code);
    if (c.conmonPid !== undefined && isAlive(c.conmonPid)) return c;
    // conmon writes the exit file and then exits: read it again now that conmon is known to be gone,
    // or an exit between the first read and the liveness check would be taken for a lost shim.
    const late = await readExitCode(paths.exitDir, c.id);
    if (late !== undefined) return this.#finish(c, late);
    // conmon is gone without an exit file: ask the runtime whether the container lives on.
    const state = await this.deps
      .runtime(c.runtime)
      .state(c.id)
      .catch((err: unknown) => {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      });
    if (state !== undefined && state.status !== 'stopped') {
      return c.status === 'unknown'
        ? c
        : this.#saveOrReread(c, 'unknown', { error: 'shim lost: conmon died' });
    }
    return this.#finish(c, undefined, 'shim lost: conmon died; the exit status is unknown');
  }

  async #finish(c: Container, exitCode: number | undefined, error?: string): Promise<Container> {
    const paths = containerPaths(this.deps.dirs, c.id);
    const oom = await this.deps.cgroups.oom(cgroupsPathOf(c)).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    const finishedAt = await stat(join(paths.exitDir, c.id)).then(
      (s) => s.mtime.toISOString(),
      () => new Date().toISOString(),
    );
    mark('exit seen');
    await teardown(this.deps, recordOf(c));
    mark('teardown done');
    const stopped = this.#saveOrReread(c, 'stopped', {
      exitCode,
      finishedAt,
      oomKilled: exitCode !== undefined && oom !== undefined && isOomKill(exitCode, oom),
      conmonPid: undefined,
      pid: undefined,
      ...(error === undefined ? {} : { error }),
    });
    if (stopped.status === 'stopped' && stopped.request.autoRemove === true) {
      await this.remove(stopped.id).catch((err: unknown) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
    }
    return stopped;
  }

  /** Saves, or when another process changed the row first, returns its version of the truth. */
  #saveOrReread(c: Container, status: Container['status'], changes: Parameters<ContainerRecords['save']>[2]) {
    try {
      return this.records.save(c, status, changes);
    } catch (err) {
      if (err instanceof NotFoundError) return { ...c, status: 'removing' as const };
      try {
        return this.records.get(c.id);
      } catch (again) {
        if (again instanceof NotFoundError) return { ...c, status: 'removing' as const };
        throw err;
      }
    }
  }
}
