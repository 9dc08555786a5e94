// DEL on cleanup, retried. The spec requires that "a delete must still be executed even if the add
// fails" and that ADD "is eventually followed by a corresponding delete" (section 3 "Lifecycle &
// Ordering"), and plugins must accept repeated DELs (section 2 "DEL"). A DEL can fail for passing
// reasons (portmap losing the race for the xtables lock, host-local's lock file, a plugin killed by
// its deadline), and a DEL given up on leaks an IP reservation and a veth for good. So cleanup runs
// the whole DEL again with backoff; only an abort stops it early.

import { setTimeout as sleep } from 'node:timers/promises';
import { CanceledError } from '../errdefs/index.ts';
import type { CniClient } from './client.ts';
import type { AttachmentRecord, CallOptions } from './types.ts';

export interface DelRetryOptions extends CallOptions {
  /** Attempts in all, the first included. */
  attempts?: number;
  /** Wait before the second attempt; doubled after each failure. */
  backoffMs?: number;
  /** Told of each failed attempt that will be retried (for the caller's log). */
  onRetry?: (err: unknown, attempt: number) => void;
}

/** DEL attempts on cleanup: 5 attempts over ~3 s (0.2 + 0.4 + 0.8 + 1.6). */
export const DEL_ATTEMPTS = 5;
export const DEL_BACKOFF_MS = 200;

/** Runs `client.del(record)` until it succeeds; throws the last error after the attempts run out. */
export async function delWithRetry(
  client: Pick<CniClient, 'del'>,
  record: AttachmentRecord,
  opts: DelRetryOptions = {},
): Promise<void> {
  const attempts = opts.attempts ?? DEL_ATTEMPTS;
  let wait = opts.backoffMs ?? DEL_BACKOFF_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      await client.del(record, opts.signal === undefined ? {} : { signal: opts.signal });
      return;
    } catch (err) {
      if (err instanceof CanceledError || attempt >= attempts) throw err;
      opts.onRetry?.(err, attempt);
    }
    try {
      await sleep(wait, undefined, opts.signal === undefined ? {} : { signal: opts.signal });
    } catch (err) {
      if (err instanceof Error && err.name === 'AbortError') {
        throw new CanceledError(`cni network ${record.network.name}: DEL canceled`, { cause: err });
      }
      throw err;
    }
    wait *= 2;
  }
}
