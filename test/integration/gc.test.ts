// The garbage collector (src/images/gc.ts) on stores filled by real pulls from the test registry:
// what keeps things (an active snapshot's chain, gc.root labels; not an expired lease), index.json
// kept in step with the image table, collections running back to back during a pull that stalls
// mid-layer (both snapshotters), and `berth image prune` as a person runs it.
// (test/integration/image-gc.test.ts covers shared layers, dry runs, leases and stale ingests.)

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { DeadlineExceededError } from '../../src/errdefs/index.ts';
import { collectGarbage, type GcOptions, gcRoot, type PulledImage } from '../../src/images/index.ts';
import { mountAll, unmountAll } from '../../src/mount/index.ts';
import { type TestImageServices, testImageServices } from '../harness/berth-images.ts';
import { startFaultProxy } from '../harness/fault-proxy.ts';
import { buildFixtures, type FixtureName, type Fixtures } from '../harness/fixtures.ts';
import { suiteContext } from '../harness/pull-check.ts';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { needs } from '../harness/requirements.ts';
import { skopeoCopy } from '../harness/skopeo.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = needs('docker-registry', 'skopeo', 'openssl', 'busybox', 'mount', 'mknod', 'setfattr');
const berthBin = new URL('../../bin/berth', import.meta.url).pathname;

const gc = (s: TestImageServices, options: GcOptions = {}) =>
  collectGarbage({ metadata: s.metadata, content: s.content, snapshotter: s.snapshotter }, options);

const blobs = async (s: TestImageServices) => (await s.content.list()).map((b) => b.digest).sort();

async function snapshots(s: TestImageServices): Promise<string[]> {
  const keys: string[] = [];
  await s.snapshotter.walk((info) => void keys.push(info.name));
  return keys.sort();
}

/** The committed chain below `key`, top first. */
async function chain(s: TestImageServices, key: string): Promise<string[]> {
  const keys: string[] = [];
  for (let k: string | undefined = key; k !== undefined; k = (await s.snapshotter.stat(k)).parent)
    keys.push(k);
  return keys;
}

/** Every blob of `multi` stored and verifying, its chain committed, its rootfs mounting and reading. */
async function assertWholeMulti(t: TestContext, s: TestImageServices, f: Fixtures, image: PulledImage) {
  const multi = f.multi;
  for (const digest of [multi.manifest.digest, multi.configDigest, ...multi.layers.map((l) => l.digest)]) {
    assert.ok((await blobs(s)).includes(digest), `blob ${digest} stored`);
  }
  assert.deepEqual((await s.content.verify()).corrupt, [], 'every blob verifies');
  const keys = await chain(s, image.chainID);
  assert.equal(keys.length, 3, 'three committed layers');
  for (const k of keys) assert.equal((await s.snapshotter.stat(k)).kind, 'committed');
  assert.deepEqual(s.metadata.leases.list(), [], 'the pull lease is gone');
  assert.ok(
    (await s.content.images()).some((i) => i.name === image.name),
    'named in index.json',
  );
  const dir = join(s.root, `view-${keys.length}-${Date.now()}`);
  mkdirSync(dir);
  t.after(() => unmountAll(dir));
  await mountAll(await s.snapshotter.view(`check-${dir}`, image.chainID), dir);
  assert.deepEqual(readFileSync(join(dir, 'bin/busybox')), readFileSync('/bin/busybox'));
  assert.equal(readFileSync(join(dir, 'data/a.txt'), 'utf8'), 'a v2\n');
  await unmountAll(dir);
  await s.snapshotter.remove(`check-${dir}`);
}

describe('garbage collector', { skip }, () => {
  const suite = suiteContext(after);
  const work = skip ? '' : tempDir(suite, 'gc');
  let fixtures: Fixtures;
  let registry: TestRegistry;
  const refs = new Map<FixtureName, string>();
  before(async () => {
    fixtures = await buildFixtures(work);
    registry = await startRegistry(suite, { auth: 'none' });
    for (const name of ['single', 'multi'] as const) {
      const ref = `${registry.host}/berth-test/${name}:latest`;
      await skopeoCopy(`oci:${fixtures[name].layoutDir}:latest`, `docker://${ref}`, {
        preserveDigests: true,
      });
      refs.set(name, ref);
    }
  });
  const ref = (name: FixtureName) => refs.get(name) as string;

  test('an active snapshot keeps its chain, gc.root keeps a blob, an expired lease keeps nothing', async (t) => {
    const s = await testImageServices(t);
    const multi = await s.images.pull(ref('multi'));
    await s.snapshotter.prepare('container-rootfs', multi.chainID);
    await s.images.remove(multi.name);
    const loose = await s.content.writeBlob(Buffer.from('leased by a dead pull'));
    s.metadata.leases.create({ id: 'dead', expires: new Date(Date.now() - 1) });
    s.metadata.leases.addResource('dead', { type: 'content', id: loose.digest });
    const pinned = await s.content.writeBlob(Buffer.from('kept by hand'));
    s.metadata.content.set(pinned.digest, { [gcRoot]: 'true' });
    const orphan = join(s.root, 'snapshots/overlayfs/999999');
    mkdirSync(join(orphan, 'fs'), { recursive: true }); // a directory whose row a crash lost

    const result = await gc(s);
    assert.deepEqual(result.leasesExpired, ['dead']);
    assert.deepEqual(await blobs(s), [pinned.digest], 'the image is gone, so are all its blobs');
    assert.deepEqual(result.snapshotsRemoved, [], 'the layers under the container stay');
    const layers = await chain(s, multi.chainID);
    assert.equal(layers.length, 3);
    assert.deepEqual(await chain(s, 'container-rootfs'), ['container-rootfs', ...layers]);
    assert.throws(() => readFileSync(join(orphan, 'fs')), /ENOENT/, 'the orphan directory is removed');

    await s.snapshotter.remove('container-rootfs');
    const second = await gc(s);
    assert.deepEqual(second.snapshotsRemoved, layers, 'leaves first: top, middle, base');
    assert.deepEqual(await snapshots(s), []);
    assert.ok(second.bytesFreed > 1_000_000, `the unpacked busybox counts: ${second.bytesFreed}`);
  });

  test('index.json follows the image table after interrupted rmi and pull', async (t) => {
    const s = await testImageServices(t);
    const single = await s.images.pull(ref('single'));
    s.metadata.images.delete(single.name); // an rmi that died before editing index.json
    await gc(s);
    assert.deepEqual(await s.content.images(), []);
    assert.deepEqual(await blobs(s), []);
    await s.images.pull(ref('single'));
    await s.content.removeImage(single.name); // a pull that died before writing index.json
    const result = await gc(s);
    assert.deepEqual(result.blobsRemoved, []);
    assert.deepEqual(
      (await s.content.images()).map((i) => [i.name, i.descriptor.digest]),
      [[single.name, single.target.digest]],
    );
  });

  for (const snapshotter of ['overlayfs', 'native'] as const) {
    test(`collections back to back during a pull that stalls mid-layer leave it whole (${snapshotter})`, async (t) => {
      const s = await testImageServices(t, { snapshotter, stallTimeoutMs: 400 });
      // The shared base is garbage when the pull starts: a collection either sweeps it before the
      // pull leases it (then it is fetched again) or finds it leased.
      await s.images.remove((await s.images.pull(ref('single'))).name);
      const proxy = await startFaultProxy(t, registry.url);
      const top = fixtures.multi.layers[2]?.digest as string;
      proxy.rules.push({
        method: 'GET',
        path: new RegExp(`/blobs/${top}$`),
        fault: { kind: 'stall', afterBytes: 100 },
        times: 1,
      });
      let done = false;
      let collections = 0;
      const loop = (async () => {
        while (!done) {
          await gc(s);
          collections++;
          await yieldLoop();
        }
      })();
      const proxied = ref('multi').replace(registry.host, proxy.host);
      let image: PulledImage;
      try {
        // The stall fails the first pull (its partial top layer is kept, and collections, finding
        // it fresh, leave it); the second resumes it with a Range request.
        await assert.rejects(s.images.pull(proxied), DeadlineExceededError);
        const held = collections;
        while (collections < held + 3) await yieldLoop();
        assert.deepEqual(
          (await s.content.ingests()).map((i) => [i.expected?.digest, i.offset]),
          [[top, 100]],
        );
        image = await s.images.pull(proxied);
      } finally {
        done = true;
        await loop;
      }
      const topGets = proxy.requests.filter((r) => r.method === 'GET' && r.url.endsWith(top));
      assert.deepEqual(
        topGets.map((r) => r.headers.range),
        [undefined, 'bytes=100-'],
      );
      assert.ok(collections > 3, `collections ran during the pulls: ${collections}`);
      await assertWholeMulti(t, s, fixtures, image);
      const last = await gc(s);
      assert.deepEqual([last.blobsRemoved, last.snapshotsRemoved], [[], []], 'nothing of it is unreferenced');
    });
  }

  test('berth image prune: asks first, --dry-run removes nothing, -a -f removes every image', async (t) => {
    const s = await testImageServices(t);
    const single = await s.images.pull(ref('single'));
    const config = join(s.root, 'config.toml');
    writeFileSync(config, '');
    const berth = (...args: string[]) =>
      spawnSync(berthBin, ['--config', config, '--root', s.root, 'image', 'prune', ...args], {
        input: '',
        encoding: 'utf8',
      });
    const refused = berth('-a');
    assert.equal(refused.status, 125, refused.stderr);
    assert.match(refused.stderr, /not confirmed/);
    const dry = berth('-a', '--dry-run');
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`^Would delete Images:\nuntagged: ${single.name}\n`));
    assert.match(dry.stdout, /^Total reclaimable space: \d(\.\d+)?MB$/m);
    assert.equal(s.images.list().length, 1, 'neither removed the image');
    const done = berth('-a', '-f');
    assert.equal(done.status, 0, done.stderr);
    assert.match(done.stdout, new RegExp(`untagged: ${single.name}\n`));
    assert.match(done.stdout, new RegExp(`deleted: ${single.target.digest}\n`));
    assert.match(done.stdout, /^Total reclaimed space: \d(\.\d+)?MB$/m);
    assert.deepEqual([s.images.list(), await blobs(s), await snapshots(s)], [[], [], []]);
  });
});
