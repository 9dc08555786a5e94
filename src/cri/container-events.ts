// The source of GetContainerEvents: berthd is not the only writer of container state (conmon's cleanup
// command records exits from its own process), so events come from watching the state itself: every
// POLL_MS the CRI containers are listed and compared with the previous look, and each change of a
// container's CRI state becomes an event (created, started, stopped, deleted), in that order. One
// poller serves every subscriber and runs only while someone listens.

import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Container, ContainerService } from '../containers/index.ts';
import { NotFoundError } from '../errdefs/index.ts';
import type { PodService } from '../pods/index.ts';
import { criState, isCriContainer, sandboxOf, toCriStatus } from './container-view.ts';
import { type ContainerEventResponseSchema, ContainerEventType, ContainerState } from './gen/api_pb.js';
import { toPodSandboxStatus } from './pod-request.ts';

/** How often the state is looked at while a client listens. */
export const EVENTS_POLL_MS = 500;
/** Events a slow subscriber may fall behind by before the oldest are dropped. */
const MAX_QUEUED = 1024;

type Event = MessageInitShape<typeof ContainerEventResponseSchema>;

export class ContainerEvents {
  readonly #containers: ContainerService;
  readonly #pods: PodService;
  readonly #subscribers = new Set<(e: Event) => void>();
  #known: Map<string, { state: ContainerState; c: Container }> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(containers: ContainerService, pods: PodService) {
    this.#containers = containers;
    this.#pods = pods;
  }

  /** Events from now until `signal` aborts. */
  async *subscribe(signal: AbortSignal): AsyncGenerator<Event> {
    const queue: Event[] = [];
    let wake: (() => void) | undefined;
    const push = (e: Event) => {
      if (queue.length >= MAX_QUEUED) queue.shift();
      queue.push(e);
      wake?.();
    };
    this.#subscribers.add(push);
    if (this.#timer === undefined) {
      await this.#poll(); // the baseline: what exists now raises no event
      this.#timer = setInterval(() => void this.#poll(), EVENTS_POLL_MS);
    }
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        const e = queue.shift();
        if (e !== undefined) yield e;
        else await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#subscribers.delete(push);
      if (this.#subscribers.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
        this.#known = undefined;
      }
    }
  }

  async #poll(): Promise<void> {
    let list: Container[];
    try {
      list = (await this.#containers.list()).filter(isCriContainer);
    } catch (err) {
      process.stderr.write(`berthd: container events: ${(err as Error).message}\n`);
      return;
    }
    const now = new Map(list.map((c) => [c.id, { state: criState(c), c }]));
    const before = this.#known;
    this.#known = now;
    if (before === undefined) return;
    for (const [id, { state, c }] of now) {
      const was = before.get(id)?.state;
      if (was === state) continue;
      if (was === undefined) await this.#emit(c, ContainerEventType.CONTAINER_CREATED_EVENT);
      if (state === ContainerState.CONTAINER_RUNNING)
        await this.#emit(c, ContainerEventType.CONTAINER_STARTED_EVENT);
      if (state === ContainerState.CONTAINER_EXITED) {
        if (was !== ContainerState.CONTAINER_RUNNING && c.startedAt !== undefined) {
          await this.#emit(c, ContainerEventType.CONTAINER_STARTED_EVENT); // started and exited between two looks
        }
        await this.#emit(c, ContainerEventType.CONTAINER_STOPPED_EVENT);
      }
    }
    for (const [id, { state, c }] of before) {
      if (now.has(id)) continue;
      // Stopped and removed between two looks: the stop still happened, and comes first.
      if (state === ContainerState.CONTAINER_RUNNING)
        await this.#emit(c, ContainerEventType.CONTAINER_STOPPED_EVENT);
      await this.#emit(c, ContainerEventType.CONTAINER_DELETED_EVENT);
    }
  }

  async #emit(c: Container, type: ContainerEventType): Promise<void> {
    const pod = await this.#pods.get(sandboxOf(c)).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined; // the pod may be gone already
      throw err;
    });
    const e: Event = {
      containerId: c.id,
      containerEventType: type,
      createdAt: BigInt(Date.now()) * 1_000_000n,
      ...(pod === undefined ? {} : { podSandboxStatus: toPodSandboxStatus(pod) }),
      containersStatuses: [toCriStatus(c)],
    };
    for (const s of this.#subscribers) s(e);
  }
}
