// berth pull of images whose layer tars are hostile (built with tar-stream, pushed with skopeo to
// the real registry), with both snapshotters: every escape attempt fails with InvalidArgumentError
// naming the tar entry and leaves the store and the host unchanged (a canary directory beside the
// root, /etc/passwd); what is allowed (an absolute name, a device node) lands inside the rootfs. The
// happy path with the native snapshotter (the overlayfs one is in pull.test.ts) is here too.

import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { InvalidArgumentError } from '../../src/errdefs/index.ts';
import { chainIDs } from '../../src/images/chain-id.ts';
import { mountAll, unmountAll } from '../../src/mount/index.ts';
import { buildFixtures } from '../harness/fixtures.ts';
import {
  assertUnchanged,
  imageFromTars,
  type PullSandbox,
  pullSandbox,
  pushImage,
  sha256,
  storeView,
  suiteContext,
  type TarSpec,
  tarOf,
} from '../harness/pull-check.ts';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { needs } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = needs('docker-registry', 'skopeo', 'openssl', 'busybox', 'mount', 'mknod', 'setfattr');
const snapshotters = ['overlayfs', 'native'] as const;

interface Hostile {
  what: string;
  /** One tar per layer; `canary` is the absolute path of the directory beside berth's root. */
  layers: (canary: string) => TarSpec[][];
  message: RegExp;
  /** The snapshotters that must refuse it (default both); the others must keep it inside. */
  refusedBy?: readonly (typeof snapshotters)[number][];
}

const hostile: Hostile[] = [
  {
    what: '../escape',
    layers: () => [[{ name: '../escape', content: 'x' }]],
    message: /layer entry "\.\.\/escape": path escapes the target directory/,
  },
  {
    what: 'a symlinked parent',
    layers: (canary) => [
      [
        { name: 'a', type: 'symlink', linkname: canary },
        { name: 'a/file', content: 'pwned' },
      ],
    ],
    message: /layer entry "a\/file": .*"a" on its path is a symlink/,
  },
  {
    what: 'a hardlink to /etc/passwd',
    layers: () => [[{ name: 'h', type: 'link', linkname: '/etc/passwd' }]],
    message: /layer entry "h": hardlink target "\/etc\/passwd" does not exist/,
  },
  {
    what: 'a hardlink to ../x',
    layers: () => [[{ name: 'h', type: 'link', linkname: '../x' }]],
    message: /layer entry "h": .*escapes/,
  },
  {
    what: 'a whiteout of ../x',
    layers: () => [[{ name: '../.wh.x' }]],
    message: /layer entry "\.\.\/\.wh\.x": path escapes/,
  },
  {
    what: 'a whiteout named ".wh..."',
    layers: () => [[{ name: 'd/', type: 'directory' }, { name: 'd/.wh...' }]],
    message: /layer entry "d\/\.wh\.\.\.": whiteout names "\.\."/,
  },
  {
    // A lower layer's symlink: the native snapshot copies it and must not write through it; an
    // overlay layer unpacks into its own empty directory, where `a` is just a new directory.
    what: "a file under a lower layer's symlink",
    layers: (canary) => [
      [{ name: 'a', type: 'symlink', linkname: canary }],
      [{ name: 'a/file', content: 'pwned' }],
    ],
    message: /layer entry "a\/file": .*"a" on its path is a symlink/,
    refusedBy: ['native'],
  },
];

describe('berth pull of hostile layers', { skip }, () => {
  const suite = suiteContext(after);
  const work = skip ? '' : tempDir(suite, 'pull-hostile');
  let registry: TestRegistry;
  let repoCount = 0;
  before(async () => {
    registry = await startRegistry(suite, { auth: 'none' });
  });

  async function imageFor(layerSpecs: TarSpec[][]) {
    const dir = join(work, `image-${repoCount}`);
    const tars = await Promise.all(layerSpecs.map(tarOf));
    const image = await imageFromTars(dir, tars);
    const ref = await pushImage(registry, dir, `hostile/r${repoCount++}`);
    const chain = chainIDs(tars.map(sha256));
    const layers = image.layers.map((desc, i) => ({ desc, chainID: chain[i] ?? '' }));
    return { ref, layers, manifest: image.manifest.digest, config: image.config.digest };
  }

  /** Runs fn on a read-only mount of the image's rootfs; unmounts even when fn fails. */
  async function inRootfs(t: TestContext, sb: PullSandbox, chainID: string, fn: (dir: string) => void) {
    const dir = join(sb.root, `view-${repoCount++}`);
    mkdirSync(dir);
    const key = `view-${dir}`;
    t.after(() => unmountAll(dir));
    await mountAll(await sb.s.snapshotter.view(key, chainID), dir);
    try {
      fn(dir);
    } finally {
      await unmountAll(dir);
      await sb.s.snapshotter.remove(key);
    }
  }

  for (const snapshotter of snapshotters) {
    for (const h of hostile) {
      const refused = (h.refusedBy ?? snapshotters).includes(snapshotter);
      test(`${h.what} (${snapshotter}): ${refused ? 'refused' : 'kept inside'}`, async (t) => {
        const sb = await pullSandbox(t, { snapshotter });
        const { ref, layers, manifest, config } = await imageFor(h.layers(sb.canary));
        const was = await storeView(sb);
        if (!refused) {
          const image = await sb.s.images.pull(ref);
          await inRootfs(t, sb, image.chainID, (root) => {
            assert.equal(lstatSync(join(root, 'a')).isDirectory(), true);
            assert.equal(readFileSync(join(root, 'a/file'), 'utf8'), 'pwned');
          });
          assert.deepEqual(readdirSync(sb.canary), ['file']);
          return;
        }
        await assert.rejects(sb.s.images.pull(ref), (err: unknown) => {
          assert.ok(err instanceof InvalidArgumentError, String(err));
          assert.match(err.message, h.message);
          return true;
        });
        // Good layers below the failing one are committed (valid layers any image may share);
        // the failing one leaves no blob (its bytes verify, but hold a refused entry), no snapshot.
        const lower = layers.slice(0, -1);
        await assertUnchanged(sb, was, {
          ingest: 'none',
          layer: layers.at(-1)?.desc,
          documents: [manifest, config, ...lower.map((l) => l.desc.digest)],
          snapshots: lower.map((l, i) => `${l.chainID} committed ${lower[i - 1]?.chainID ?? '-'}`),
        });
        // The same berth still pulls a good image.
        const { ref: goodRef } = await imageFor([[{ name: 'ok', content: 'ok' }]]);
        await sb.s.images.pull(goodRef);
        assert.deepEqual((await sb.s.content.verify()).corrupt, []);
      });
    }

    test(`an absolute name and a device node land inside the rootfs (${snapshotter})`, async (t) => {
      const sb = await pullSandbox(t, { snapshotter });
      const { ref } = await imageFor([
        [
          { name: `${sb.canary}/abs`, content: 'inside' },
          { name: 'dev/', type: 'directory' },
          { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
        ],
      ]);
      const was = await storeView(sb);
      const image = await sb.s.images.pull(ref);
      await inRootfs(t, sb, image.chainID, (root) => {
        assert.equal(readFileSync(join(root, sb.canary, 'abs'), 'utf8'), 'inside');
        const dev = statSync(join(root, 'dev/null'));
        assert.ok(dev.isCharacterDevice());
        assert.equal(dev.rdev, (1 << 8) | 3);
      });
      assert.equal(existsSync(join(sb.canary, 'abs')), false, 'nothing written outside');
      assert.equal((await storeView(sb)).outside, was.outside);
    });
  }

  test('the native snapshotter pulls the multi fixture whole (whiteouts, opaque dir, hardlink)', async (t) => {
    mkdirSync(join(work, 'fixtures'));
    const fixtures = await buildFixtures(join(work, 'fixtures'));
    const ref = await pushImage(registry, fixtures.multi.layoutDir, 'hostile/multi');
    const sb = await pullSandbox(t, { snapshotter: 'native' });
    const image = await sb.s.images.pull(ref);
    assert.equal(image.target.digest, fixtures.multi.manifest.digest);
    await inRootfs(t, sb, image.chainID, (root) => {
      assert.deepEqual(readFileSync(join(root, 'bin/busybox')), readFileSync('/bin/busybox'));
      assert.equal(readFileSync(join(root, 'data/a.txt'), 'utf8'), 'a v2\n');
      assert.equal(existsSync(join(root, 'data/gone.txt')), false);
      assert.deepEqual(readdirSync(join(root, 'opq')), ['new.txt']);
      assert.equal(statSync(join(root, 'data/keep/x')).ino, statSync(join(root, 'data/keep/x-link')).ino);
      assert.equal(statSync(join(root, 'data/suid')).mode & 0o7777, 0o4755);
    });
  });
});
