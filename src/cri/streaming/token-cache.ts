// The one-time tokens of the streaming URLs (the kubelet's streaming request cache,
// k8s.io/kubelet/pkg/cri/streaming/request_cache.go): Exec, Attach and PortForward store their request
// under a random token and answer with a URL naming it; the first connection to that URL takes the
// request out, so a URL works once, and only within TOKEN_TTL_MS. The stream server listens without
// authentication (127.0.0.1 by default), so the token is the only secret: 256 random bits where the
// kubelet uses 48.

import { randomBytes } from 'node:crypto';
import { ResourceExhaustedError } from '../../errdefs/index.ts';

/** How long a streaming URL stays usable (the kubelet's cacheTTL). */
export const TOKEN_TTL_MS = 60_000;
/** Requests waiting for their connection at most (the kubelet's maxInFlight). */
export const MAX_PENDING_TOKENS = 1000;

export interface TokenCacheOptions {
  ttlMs?: number;
  max?: number;
  /** A monotonic clock in milliseconds; tests pass their own. */
  now?: () => number;
}

export class TokenCache<T> {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  /** Insertion order is expiry order: every entry lives the same TTL. */
  readonly #entries = new Map<string, { value: T; expires: number }>();

  constructor(opts: TokenCacheOptions = {}) {
    this.#ttlMs = opts.ttlMs ?? TOKEN_TTL_MS;
    this.#max = opts.max ?? MAX_PENDING_TOKENS;
    this.#now = opts.now ?? (() => performance.now()); // monotonic: a clock step changes nothing
  }

  get size(): number {
    this.#evictExpired();
    return this.#entries.size;
  }

  /** Stores `value` and returns its token (URL-safe). ResourceExhausted when too many are pending. */
  insert(value: T): string {
    this.#evictExpired();
    if (this.#entries.size >= this.#max) {
      throw new ResourceExhaustedError(
        `streaming server: ${this.#max} requests are waiting for their connection; try again later`,
      );
    }
    let token: string;
    do token = randomBytes(32).toString('base64url');
    while (this.#entries.has(token));
    this.#entries.set(token, { value, expires: this.#now() + this.#ttlMs });
    return token;
  }

  /** Takes the request out: a token works once, and not after it expired. */
  consume(token: string): T | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    this.#entries.delete(token);
    return entry.expires > this.#now() ? entry.value : undefined;
  }

  #evictExpired(): void {
    const now = this.#now();
    for (const [token, entry] of this.#entries) {
      if (entry.expires > now) break;
      this.#entries.delete(token);
    }
  }
}
