import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from '../../src/errdefs/index.ts';
import { type Metadata, openMetadata } from '../../src/metadata/index.ts';
import { mountAll, mountsUnder, unmountAll } from '../../src/mount/index.ts';
import { NativeSnapshotter, OverlaySnapshotter, type Snapshotter } from '../../src/snapshot/index.ts';
import { needs } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

// One conformance suite, run against every Snapshotter (design.md example 10).
type Make = (root: string, metadata: Metadata) => Snapshotter;
const implementations: [string, Make][] = [
  ['overlayfs', (root, md) => new OverlaySnapshotter(join(root, 'snapshots', 'overlayfs'), md)],
  ['native', (root, md) => new NativeSnapshotter(join(root, 'snapshots', 'native'), md)],
];

function setup(t: TestContext, make: Make) {
  const root = tempDir(t, 'snap');
  const metadata = openMetadata(root);
  t.after(() => metadata.close());
  const mnt = join(root, 'mnt');
  mkdirSync(mnt);
  t.after(() => unmountAll(root));
  return { root, metadata, snapshotter: make(root, metadata), mnt };
}

/** Mounts a snapshot's mounts on a fresh dir, runs fn, and unmounts even when fn throws. */
async function withMounted<T>(dir: string, mounts: Parameters<typeof mountAll>[0], fn: () => T): Promise<T> {
  mkdirSync(dir, { recursive: true });
  await mountAll(mounts, dir);
  try {
    return fn();
  } finally {
    await unmountAll(dir);
  }
}

for (const [name, make] of implementations) {
  describe(`snapshotter conformance: ${name}`, { skip: needs('mount', 'cp') }, () => {
    test('prepare, write, commit, child on top, view sees both, remove in order', async (t) => {
      const { snapshotter: s, mnt } = setup(t, make);
      const base = await s.prepare('base-active');
      await withMounted(join(mnt, 'a'), base, () => writeFileSync(join(mnt, 'a', 'base.txt'), 'base'));
      await s.commit('base', 'base-active');
      assert.equal((await s.stat('base')).kind, 'committed');
      await assert.rejects(s.stat('base-active'), NotFoundError);

      const child = await s.prepare('child-active', 'base');
      await withMounted(join(mnt, 'b'), child, () => {
        assert.equal(readFileSync(join(mnt, 'b', 'base.txt'), 'utf8'), 'base');
        writeFileSync(join(mnt, 'b', 'child.txt'), 'child');
      });
      await s.commit('child', 'child-active');
      assert.equal((await s.stat('child')).parent, 'base');

      const view = await s.view('look', 'child');
      await withMounted(join(mnt, 'c'), view, () => {
        assert.equal(readFileSync(join(mnt, 'c', 'base.txt'), 'utf8'), 'base');
        assert.equal(readFileSync(join(mnt, 'c', 'child.txt'), 'utf8'), 'child');
        assert.throws(() => writeFileSync(join(mnt, 'c', 'x'), 'x'), /EROFS/);
      });

      const seen: string[] = [];
      await s.walk((info) => {
        seen.push(`${info.name}:${info.kind}`);
      });
      assert.deepEqual(seen, ['base:committed', 'child:committed', 'look:view']);
      assert.ok((await s.usage('child')).inodes >= 2);

      await assert.rejects(s.remove('base'), FailedPreconditionError);
      await s.remove('look');
      await s.remove('child');
      await s.remove('base');
      const left: string[] = [];
      await s.walk((info) => {
        left.push(info.name);
      });
      assert.deepEqual(left, []);
      assert.deepEqual(mountsUnder(mnt), []);
    });

    test('keys are unique, missing parents and keys are NotFound', async (t) => {
      const { snapshotter: s } = setup(t, make);
      await s.prepare('k');
      await assert.rejects(s.prepare('k'), AlreadyExistsError);
      await assert.rejects(s.prepare('k2', 'no-such-parent'), NotFoundError);
      await assert.rejects(s.prepare('k3', 'k'), FailedPreconditionError); // parent is active
      await assert.rejects(s.mounts('nope'), NotFoundError);
      await assert.rejects(s.remove('nope'), NotFoundError);
    });

    test('a crash between row and directory leaves an orphan dir that cleanup removes', async (t) => {
      const { root, snapshotter: s } = setup(t, make);
      await s.prepare('kept');
      const orphan = join(root, 'snapshots', name, '999');
      mkdirSync(join(orphan, 'fs'), { recursive: true });
      const base = s as OverlaySnapshotter | NativeSnapshotter;
      assert.deepEqual(await base.cleanup(), ['999']);
      assert.equal(existsSync(orphan), false);
      assert.equal((await s.stat('kept')).kind, 'active');
    });
  });
}

test('overlay: layers apply independently and get their parent at commit', {
  skip: needs('mount'),
}, async (t) => {
  const { snapshotter: s, mnt } = setup(t, implementations[0]![1]);
  assert.equal(s.layersIndependent, true);
  // Both layers prepared at once, before either is committed.
  await s.prepare('l1-extract');
  await s.prepare('l2-extract');
  const d1 = await s.applyDir('l1-extract');
  const d2 = await s.applyDir('l2-extract');
  assert.equal(d1.whiteouts, 'overlay');
  writeFileSync(join(d1.dir, 'one'), '1');
  writeFileSync(join(d2.dir, 'two'), '2');
  await s.commit('chain1', 'l1-extract');
  await s.commit('chain2', 'l2-extract', { parent: 'chain1' });
  const rw = await s.prepare('ctr', 'chain2');
  await withMounted(join(mnt, 'r'), rw, () => {
    assert.equal(readFileSync(join(mnt, 'r', 'one'), 'utf8'), '1');
    assert.equal(readFileSync(join(mnt, 'r', 'two'), 'utf8'), '2');
  });
});

test('native: applies on a copy of the parent and refuses a parent at commit', {
  skip: needs('cp'),
}, async (t) => {
  const { snapshotter: s } = setup(t, implementations[1]![1]);
  await s.prepare('l1');
  writeFileSync(join((await s.applyDir('l1')).dir, 'one'), '1');
  await s.commit('c1', 'l1');
  await s.prepare('l2', 'c1');
  const d2 = await s.applyDir('l2');
  assert.equal(d2.whiteouts, 'apply');
  assert.equal(readFileSync(join(d2.dir, 'one'), 'utf8'), '1');
  await s.prepare('l3');
  await assert.rejects(s.commit('c3', 'l3', { parent: 'c1' }), /cannot set a parent at commit/);
});
