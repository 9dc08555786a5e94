// The streaming server's one-time tokens (src/cri/streaming/token-cache.ts): a URL works once, only
// within its TTL, tokens are URL-safe and unguessable, and the number waiting is capped, expired ones
// not counting.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TOKEN_TTL_MS, TokenCache } from '../../src/cri/streaming/token-cache.ts';
import { ResourceExhaustedError } from '../../src/errdefs/index.ts';

function clock() {
  let now = 1000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

test('a token gives its request back once', () => {
  const cache = new TokenCache<string>();
  const token = cache.insert('exec a');
  assert.match(token, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
  assert.equal(cache.consume(token), 'exec a');
  assert.equal(cache.consume(token), undefined, 'single use');
  assert.equal(cache.consume('not-a-token'), undefined);
  assert.notEqual(cache.insert('x'), cache.insert('x'), 'every request gets its own token');
});

test('a token expires after the TTL (the kubelet keeps them a minute)', () => {
  assert.equal(TOKEN_TTL_MS, 60_000);
  const c = clock();
  const cache = new TokenCache<string>({ now: c.now });
  const early = cache.insert('early');
  c.advance(TOKEN_TTL_MS - 1);
  const late = cache.insert('late');
  assert.equal(cache.consume(early), 'early', 'still valid 1 ms before the end');
  c.advance(1);
  assert.equal(cache.size, 1);
  c.advance(TOKEN_TTL_MS);
  assert.equal(cache.consume(late), undefined, 'expired');
  assert.equal(cache.size, 0);
});

test('at most `max` requests wait; expired ones make room', () => {
  const c = clock();
  const cache = new TokenCache<number>({ now: c.now, max: 2, ttlMs: 100 });
  cache.insert(1);
  const second = cache.insert(2);
  assert.throws(() => cache.insert(3), ResourceExhaustedError);
  assert.equal(cache.consume(second), 2);
  cache.insert(3); // a consumed token frees its place
  c.advance(100);
  cache.insert(4);
  cache.insert(5); // both earlier ones expired
  assert.throws(() => cache.insert(6), /2 requests are waiting/);
});
