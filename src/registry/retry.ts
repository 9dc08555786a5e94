// When and how long to wait before asking a registry again. Registries and their CDNs drop
// connections and answer 429/5xx under load; distribution-spec says a client "SHOULD" back off on
// 429 (spec.md "Error Codes", TOOMANYREQUESTS) and RFC 9110 section 10.2.3 defines `Retry-After` as
// either delay-seconds or an HTTP-date. The delays grow exponentially with full jitter (AWS
// architecture blog "Exponential Backoff and Jitter") so that many nodes pulling at once after an
// outage do not retry in lockstep.

import { setTimeout as sleep } from 'node:timers/promises';
import { CanceledError } from '../errdefs/index.ts';

export interface RetryPolicy {
  /** Total attempts of one request, the first included (1 = never retry). */
  attempts: number;
  /** The first backoff; attempt n waits a random time in [0, base * 2^(n-1)]. */
  baseDelayMs: number;
  /** The largest computed backoff. */
  maxDelayMs: number;
  /** The largest wait a server's `Retry-After` may impose; longer asks are cut to this. */
  maxRetryAfterMs: number;
}

/** Named defaults (design.md rule 7: deadlines are named config values). */
export const defaultRetryPolicy: RetryPolicy = {
  attempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
};

/**
 * Statuses worth another attempt: 429 Too Many Requests and the 5xx that mean "try later". 501 Not
 * Implemented and 505 are permanent answers, so they are not retried.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * `Retry-After` as milliseconds from `now`, or undefined when absent or unparseable. A date in the
 * past means "now" (0).
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (v === undefined || v === '') return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const when = Date.parse(v);
  if (Number.isNaN(when)) return undefined;
  return Math.max(0, when - now);
}

/** The wait before attempt `attempt + 1` (attempt counts from 1). */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Sleeps `ms`, or rejects with CanceledError naming `what` as soon as `signal` aborts. */
export async function waitBeforeRetry(
  ms: number,
  what: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    if (err instanceof Error && err.name === 'AbortError') {
      throw new CanceledError(`${what}: canceled while waiting to retry`, { cause: err });
    }
    throw err;
  }
}
