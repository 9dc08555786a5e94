import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, defaultRetryPolicy, parseRetryAfter } from '../../src/registry/index.ts';

test('Retry-After as seconds or an HTTP date (RFC 9110 10.2.3)', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter(['3'], now), 3000);
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('backoff: exponential with full jitter, capped; Retry-After capped to its own maximum', () => {
  const p = { ...defaultRetryPolicy, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };
  assert.equal(
    backoffDelay(p, 1, undefined, () => 0.999),
    99,
  );
  assert.equal(
    backoffDelay(p, 3, undefined, () => 0.5),
    200,
  );
  assert.equal(
    backoffDelay(p, 10, undefined, () => 0.999),
    999,
  );
  assert.equal(backoffDelay(p, 1, 3000), 3000);
  assert.equal(backoffDelay(p, 1, 3_600_000), 5000);
});
