import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLimiter } from '../../src/util/limiter.ts';

test('a limiter runs at most n tasks at once and passes results and errors through', async () => {
  const limit = createLimiter(2);
  let running = 0;
  let peak = 0;
  const task = (i: number) => async () => {
    running++;
    peak = Math.max(peak, running);
    await sleep(5);
    running--;
    if (i === 3) throw new Error('task 3 failed');
    return i;
  };
  const results = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => limit(task(i))));
  assert.equal(peak, 2);
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    [0, 1, 2, 'task 3 failed', 4],
  );
});
