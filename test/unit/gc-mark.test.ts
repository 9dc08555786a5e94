import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leasedSnapshotKeys, leavesFirst, markReachable } from '../../src/images/gc-mark.ts';

const C = 'containerd.io/gc.ref.content';
const S = 'containerd.io/gc.ref.snapshot.overlayfs';

test('marking follows content labels to blobs and snapshot labels and parents to snapshots', () => {
  const marked = markReachable({
    rootBlobs: ['index'],
    rootSnapshots: ['view-1'],
    blobLabels: new Map<string, Record<string, string>>([
      ['index', { [`${C}.m.0`]: 'manifest' }],
      ['manifest', { [`${C}.config`]: 'config', [`${C}.l.0`]: 'layer0', [`${C}.l.1`]: 'layer1' }],
      ['config', { [S]: 'chain1', 'containerd.io/gc.ref.snapshot.native': 'other' }],
      ['orphan', { [`${C}.l.0`]: 'orphan-layer' }],
    ]),
    snapshotParents: new Map([
      ['chain1', 'chain0'],
      ['chain0', undefined],
      ['view-1', 'chainX'],
      ['chainX', undefined],
      ['lonely', undefined],
    ]),
    snapshotter: 'overlayfs',
  });
  assert.deepEqual([...marked.blobs].sort(), ['config', 'index', 'layer0', 'layer1', 'manifest']);
  assert.deepEqual([...marked.snapshots].sort(), ['chain0', 'chain1', 'chainX', 'view-1']);
});

test('snapshots are removed leaves first, whatever order they come in', () => {
  const parents = new Map<string, string | undefined>([
    ['a', undefined],
    ['b', 'a'],
    ['c', 'b'],
    ['d', 'a'],
    ['kept', undefined],
  ]);
  const order = leavesFirst(['a', 'b', 'c', 'd'], parents);
  assert.equal(order.length, 4);
  for (const [child, parent] of [
    ['b', 'a'],
    ['c', 'b'],
    ['d', 'a'],
  ] as const) {
    assert.ok(order.indexOf(child) < order.indexOf(parent), `${child} before ${parent}: ${order.join()}`);
  }
});

test('a leased snapshot id protects both readings: <snapshotter>/<key> and a bare key', () => {
  assert.deepEqual(leasedSnapshotKeys('overlayfs/sha256:abc', 'overlayfs'), [
    'overlayfs/sha256:abc',
    'sha256:abc',
  ]);
  assert.deepEqual(leasedSnapshotKeys('sha256:abc', 'overlayfs'), ['sha256:abc']);
  assert.deepEqual(leasedSnapshotKeys('native/x', 'overlayfs'), ['native/x']);
});

test('a cycle of labels or parents ends the walk; roots that name nothing are kept as given', () => {
  const marked = markReachable({
    rootBlobs: ['a', 'missing'],
    rootSnapshots: ['s1'],
    blobLabels: new Map<string, Record<string, string>>([
      ['a', { [`${C}.x`]: 'b' }],
      ['b', { [`${C}.x`]: 'a', [`${C}`]: 'c' }],
    ]),
    snapshotParents: new Map([
      ['s1', 's2'],
      ['s2', 's1'],
    ]),
    snapshotter: 'overlayfs',
  });
  assert.deepEqual([...marked.blobs].sort(), ['a', 'b', 'c', 'missing']);
  assert.deepEqual([...marked.snapshots].sort(), ['s1', 's2']);
});
