import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../../src/errdefs/index.ts';
import { keepLeaseAlive } from '../../src/images/pull.ts';
import { openMetadata } from '../../src/metadata/index.ts';
import { tempDir } from '../harness/tmp.ts';

const digest = (c: string) => `sha256:${c.repeat(64)}`;

function open(t: Parameters<typeof tempDir>[0]) {
  return openMetadata(tempDir(t, 'metadata-leases'));
}

test('leases: create, get, list, delete', (t) => {
  using m = open(t);
  const l = m.leases.create({ id: 'pull-1', labels: { 'berth.io/ref': 'busybox' } });
  assert.equal(l.expires, undefined);
  assert.deepEqual(m.leases.get('pull-1'), l);
  assert.throws(() => m.leases.create({ id: 'pull-1' }), {
    name: 'AlreadyExistsError',
    message: 'lease "pull-1": already exists',
  });
  assert.throws(() => m.leases.create({ id: 'pull-1' }), AlreadyExistsError);
  m.leases.create({ id: 'pull-2' });
  assert.deepEqual(
    m.leases.list().map((x) => x.id),
    ['pull-1', 'pull-2'],
  );
  m.leases.delete('pull-1');
  assert.throws(() => m.leases.delete('pull-1'), {
    name: 'NotFoundError',
    message: 'lease "pull-1": not found',
  });
  assert.throws(() => m.leases.get('pull-1'), NotFoundError);
});

test('expired lists leases whose expiry has passed', (t) => {
  using m = open(t);
  const now = Date.now();
  m.leases.create({ id: 'old', expires: new Date(now - 60_000) });
  m.leases.create({ id: 'older', expires: new Date(now - 120_000) });
  m.leases.create({ id: 'future', expires: new Date(now + 60_000) });
  m.leases.create({ id: 'forever' });
  assert.deepEqual(
    m.leases.expired().map((x) => x.id),
    ['older', 'old'],
  );
  assert.deepEqual(
    m.leases.expired(new Date(now + 120_000)).map((x) => x.id),
    ['older', 'old', 'future'],
  );
  assert.equal(m.leases.get('future').expires, new Date(now + 60_000).toISOString());
  assert.throws(() => m.leases.create({ id: 'bad', expires: new Date(Number.NaN) }), InvalidArgumentError);
});

test('resources: add is idempotent, remove, holders, cascade on lease delete', (t) => {
  using m = open(t);
  m.leases.create({ id: 'a' });
  m.leases.create({ id: 'b' });
  const blob = { type: 'content', id: digest('1') } as const;
  const snap = { type: 'snapshot', id: 'overlayfs/extract-1' } as const;
  m.leases.addResource('a', blob);
  m.leases.addResource('a', blob);
  m.leases.addResource('a', snap);
  m.leases.addResource('b', blob);
  assert.deepEqual(m.leases.resources('a'), [blob, snap]);
  assert.deepEqual(m.leases.holders(blob), ['a', 'b']);
  m.leases.removeResource('a', snap);
  m.leases.removeResource('a', snap); // removing what it does not hold is fine
  assert.deepEqual(m.leases.resources('a'), [blob]);
  m.leases.delete('a');
  assert.deepEqual(m.leases.holders(blob), ['b']);
  assert.throws(() => m.leases.addResource('a', blob), {
    name: 'NotFoundError',
    message: 'lease "a": not found',
  });
  assert.throws(() => m.leases.removeResource('a', blob), NotFoundError);
  assert.throws(() => m.leases.resources('a'), NotFoundError);
  assert.throws(
    () => m.leases.addResource('b', { type: 'volume' as 'image', id: 'x' }),
    /lease resource type "volume": not one of content, snapshot, image/,
  );
  assert.throws(() => m.leases.addResource('b', { type: 'image', id: '' }), InvalidArgumentError);
});

test('renew moves the expiry (a lease that had expired is live again); unknown lease is NotFound', (t) => {
  using m = open(t);
  const now = Date.now();
  m.leases.create({ id: 'pull-1', labels: { a: 'b' }, expires: new Date(now - 1000) });
  assert.deepEqual(
    m.leases.expired().map((x) => x.id),
    ['pull-1'],
  );
  const renewed = m.leases.renew('pull-1', new Date(now + 3_600_000));
  assert.equal(renewed.expires, new Date(now + 3_600_000).toISOString());
  assert.deepEqual(renewed.labels, { a: 'b' });
  assert.deepEqual(m.leases.get('pull-1'), renewed);
  assert.deepEqual(m.leases.expired(), []);
  assert.throws(() => m.leases.renew('pull-2', new Date(now)), {
    name: 'NotFoundError',
    message: 'lease "pull-2": not found',
  });
  assert.throws(() => m.leases.renew('pull-1', new Date(Number.NaN)), InvalidArgumentError);
});

test("a running pull's lease is renewed every third of its lifetime, so it never expires", (t) => {
  using m = open(t);
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 });
  const lifetime = 60 * 60 * 1000;
  m.leases.create({ id: 'pull-1', expires: new Date(Date.now() + lifetime) });
  const renewal = keepLeaseAlive(m.leases, 'pull-1', lifetime);
  // Three hours of pulling: at no point has the lease expired, and its expiry keeps moving.
  for (let step = 1; step <= 9; step++) {
    t.mock.timers.tick(lifetime / 3);
    assert.deepEqual(m.leases.expired(), [], `expired after ${step} thirds of the lifetime`);
    assert.equal(
      m.leases.get('pull-1').expires,
      new Date(1_000_000 + (step * lifetime) / 3 + lifetime).toISOString(),
    );
  }
  renewal.stop();
  const last = m.leases.get('pull-1').expires;
  t.mock.timers.tick(lifetime);
  assert.equal(m.leases.get('pull-1').expires, last, 'no renewal after stop()');
  assert.deepEqual(
    m.leases.expired().map((x) => x.id),
    ['pull-1'],
  );
});

test('lease renewal: a failing renewal is tried again; a lease that is gone stops it', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const calls: string[] = [];
  let answer: 'busy' | 'ok' | 'gone' = 'busy';
  const leases = {
    renew(id: string) {
      calls.push(answer);
      if (answer === 'busy') throw new Error('database is locked');
      if (answer === 'gone') throw new NotFoundError(`lease "${id}": not found`);
      return { id, labels: {}, created: '' };
    },
  };
  keepLeaseAlive(leases, 'pull-1', 3000);
  t.mock.timers.tick(1000);
  answer = 'ok';
  t.mock.timers.tick(1000);
  answer = 'gone';
  t.mock.timers.tick(1000);
  t.mock.timers.tick(5000);
  assert.deepEqual(calls, ['busy', 'ok', 'gone']);
});
