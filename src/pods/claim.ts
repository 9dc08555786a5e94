// One teardown of a pod at a time. The CNI spec says "the container runtime must not invoke parallel
// operations for the same container" (section 3 "Lifecycle & Ordering"), and two berth processes (or
// two CRI calls in one daemon) may stop the same pod at once, or a reader may find a dead creation
// while a stop runs. Before any CNI DEL or unmount a caller claims the pod: a compare-and-set write of
// `claim` (its pid and a random token) into the row; whoever loses the write, or finds a live claim,
// waits for it to go (a stop) or leaves the work to its holder (a reader's refresh). A claim whose
// process died is taken over. The work releases the claim with its own final write; `exclusive`
// releases it on failure.

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CanceledError,
  DeadlineExceededError,
  FailedPreconditionError,
  NotFoundError,
} from '../errdefs/index.ts';
import { isAlive } from '../shim/index.ts';
import type { PodRecords } from './records.ts';
import type { Pod } from './types.ts';

/** How long a stop waits for another process's teardown of the same pod (DEL retries included). */
export const CLAIM_WAIT_MS = 120_000;
const CLAIM_POLL_MS = 25;

function heldByOther(p: Pod, token: string): boolean {
  return p.claim !== undefined && p.claim.token !== token && isAlive(p.claim.pid);
}

async function pause(signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(CLAIM_POLL_MS, undefined, signal === undefined ? {} : { signal });
  } catch (err) {
    if (err instanceof Error && err.name === 'AbortError')
      throw new CanceledError('pod: canceled', { cause: err });
    throw err;
  }
}

/**
 * Claims pod `id` and runs `work` with the claimed row. `wait: false` returns undefined at once when
 * another live holder has it (they are doing the work). The claim is released if `work` throws.
 */
export async function exclusive<T>(
  records: PodRecords,
  id: string,
  opts: { wait: boolean; signal?: AbortSignal },
  work: (p: Pod) => Promise<T>,
): Promise<T | undefined> {
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + CLAIM_WAIT_MS;
  let claimed: Pod | undefined;
  while (claimed === undefined) {
    const p = records.get(id);
    if (heldByOther(p, token)) {
      if (!opts.wait) return undefined;
      if (Date.now() > deadline) {
        throw new DeadlineExceededError(
          `pod ${p.name}: another berth process (pid ${p.claim!.pid}) is still tearing it down`,
        );
      }
      await pause(opts.signal);
      continue;
    }
    try {
      claimed = records.save(p, p.status, { claim: { pid: process.pid, token } });
    } catch (err) {
      if (!(err instanceof FailedPreconditionError)) throw err; // changed meanwhile: look again
    }
  }
  try {
    return await work(claimed);
  } catch (err) {
    release(records, id, token);
    throw err;
  }
}

function release(records: PodRecords, id: string, token: string): void {
  for (let attempt = 1; ; attempt++) {
    try {
      const p = records.get(id);
      if (p.claim?.token === token) records.save(p, p.status, { claim: undefined });
      return;
    } catch (err) {
      if (err instanceof NotFoundError) return; // the work deleted the row (a rollback)
      if (!(err instanceof FailedPreconditionError) || attempt >= 3) throw err; // written meanwhile: again
    }
  }
}
