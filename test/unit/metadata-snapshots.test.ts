import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '../../src/errdefs/index.ts';
import { openMetadata } from '../../src/metadata/index.ts';
import { tempDir } from '../harness/tmp.ts';

const sn = 'overlayfs';

function open(t: Parameters<typeof tempDir>[0]) {
  return openMetadata(tempDir(t, 'metadata-snapshots'));
}

test('a layer chain: prepare, commit, prepare on top; ids are distinct and kept at commit', (t) => {
  using m = open(t);
  const s = m.snapshots;
  const a = s.create({ snapshotter: sn, key: 'extract-1', kind: 'active', labels: { l: '1' } });
  assert.equal(a.kind, 'active');
  assert.equal(a.parent, undefined);
  const base = s.commit(sn, 'extract-1', 'sha256:base', { labels: { committed: 'yes' } });
  assert.equal(base.id, a.id);
  assert.equal(base.kind, 'committed');
  assert.deepEqual(base.labels, { committed: 'yes' });
  assert.throws(() => s.get(sn, 'extract-1'), NotFoundError);
  const top = s.create({ snapshotter: sn, key: 'ctr-rootfs', parent: 'sha256:base', kind: 'active' });
  assert.equal(top.parent, 'sha256:base');
  assert.notEqual(top.id, base.id);
  const view = s.create({ snapshotter: sn, key: 'view-1', parent: 'sha256:base', kind: 'view' });
  assert.equal(view.kind, 'view');
  assert.deepEqual(
    s.list(sn).map((r) => r.key),
    ['sha256:base', 'ctr-rootfs', 'view-1'],
  );
  assert.deepEqual(
    s.list(sn, { parent: 'sha256:base', kind: 'view' }).map((r) => r.key),
    ['view-1'],
  );
  assert.deepEqual(s.list('native'), []);
});

test('the parent must exist, be committed and belong to the same snapshotter', (t) => {
  using m = open(t);
  const s = m.snapshots;
  assert.throws(() => s.create({ snapshotter: sn, key: 'k', parent: 'missing', kind: 'active' }), {
    name: 'NotFoundError',
    message: 'overlayfs snapshot "missing" (parent of "k"): not found',
  });
  s.create({ snapshotter: sn, key: 'active-1', kind: 'active' });
  assert.throws(
    () => s.create({ snapshotter: sn, key: 'k', parent: 'active-1', kind: 'view' }),
    FailedPreconditionError,
  );
  s.commit(sn, 'active-1', 'base');
  assert.throws(
    () => s.create({ snapshotter: 'native', key: 'k', parent: 'base', kind: 'view' }),
    NotFoundError,
  );
  assert.deepEqual(
    s.list(sn).map((r) => r.key),
    ['base'],
  );
});

test('keys are unique per snapshotter', (t) => {
  using m = open(t);
  const s = m.snapshots;
  s.create({ snapshotter: sn, key: 'k', kind: 'active' });
  assert.throws(() => s.create({ snapshotter: sn, key: 'k', kind: 'view' }), {
    name: 'AlreadyExistsError',
    message: 'overlayfs snapshot "k": already exists',
  });
  s.create({ snapshotter: 'native', key: 'k', kind: 'active' });
  s.create({ snapshotter: sn, key: 'other', kind: 'active' });
  assert.throws(() => s.commit(sn, 'other', 'k'), AlreadyExistsError);
  assert.equal(s.get(sn, 'other').kind, 'active'); // the failed commit changed nothing
});

test('only active snapshots commit', (t) => {
  using m = open(t);
  const s = m.snapshots;
  s.create({ snapshotter: sn, key: 'a', kind: 'active' });
  s.commit(sn, 'a', 'base');
  s.create({ snapshotter: sn, key: 'v', parent: 'base', kind: 'view' });
  assert.throws(
    () => s.commit(sn, 'v', 'x'),
    /overlayfs snapshot "v": is view; only active snapshots commit/,
  );
  assert.throws(() => s.commit(sn, 'base', 'x'), FailedPreconditionError);
  assert.throws(() => s.commit(sn, 'nope', 'x'), NotFoundError);
});

test('commit can set the parent (layers unpacked independently)', (t) => {
  using m = open(t);
  const s = m.snapshots;
  s.create({ snapshotter: sn, key: 'l0', kind: 'active' });
  s.create({ snapshotter: sn, key: 'l1', kind: 'active' });
  s.commit(sn, 'l0', 'chain0');
  assert.throws(() => s.commit(sn, 'l1', 'chain1', { parent: 'l1' }), FailedPreconditionError);
  const c1 = s.commit(sn, 'l1', 'chain1', { parent: 'chain0' });
  assert.equal(c1.parent, 'chain0');
});

test('a snapshot with children cannot be removed; the error names a child', (t) => {
  using m = open(t);
  const s = m.snapshots;
  s.create({ snapshotter: sn, key: 'a', kind: 'active' });
  s.commit(sn, 'a', 'base');
  s.create({ snapshotter: sn, key: 'child', parent: 'base', kind: 'active' });
  assert.throws(
    () => s.remove(sn, 'base'),
    (err: unknown) => {
      assert.ok(err instanceof FailedPreconditionError);
      assert.equal(err.message, 'overlayfs snapshot "base": has children ("child")');
      return true;
    },
  );
  const removed = s.remove(sn, 'child');
  assert.equal(removed.key, 'child');
  assert.equal(s.remove(sn, 'base').key, 'base');
  assert.throws(() => s.remove(sn, 'base'), {
    name: 'NotFoundError',
    message: 'overlayfs snapshot "base": not found',
  });
});

test('ids are never reused after a remove', (t) => {
  using m = open(t);
  const s = m.snapshots;
  const a = s.create({ snapshotter: sn, key: 'a', kind: 'active' });
  s.remove(sn, 'a');
  const b = s.create({ snapshotter: sn, key: 'a', kind: 'active' });
  assert.ok(b.id > a.id);
});

test('setLabels replaces labels; bad input is InvalidArgument', (t) => {
  using m = open(t);
  const s = m.snapshots;
  s.create({ snapshotter: sn, key: 'a', kind: 'active', labels: { x: '1' } });
  assert.deepEqual(s.setLabels(sn, 'a', { y: '2' }).labels, { y: '2' });
  assert.throws(() => s.setLabels(sn, 'b', {}), NotFoundError);
  assert.throws(() => s.create({ snapshotter: sn, key: '', kind: 'active' }), InvalidArgumentError);
  assert.throws(
    () => s.create({ snapshotter: sn, key: 'c', kind: 'committed' as 'active' }),
    InvalidArgumentError,
  );
});
