import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { ingestDirFor } from '../../src/content/ingest-files.ts';
import { collectGarbage } from '../../src/images/index.ts';
import { mountAll, unmountAll } from '../../src/mount/index.ts';
import { type TestImageServices, testImageServices } from '../harness/berth-images.ts';
import { buildFixtures, type FixtureName, type Fixtures } from '../harness/fixtures.ts';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { needs } from '../harness/requirements.ts';
import { skopeoCopy } from '../harness/skopeo.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = needs('docker-registry', 'skopeo', 'openssl', 'busybox', 'mount', 'mknod', 'setfattr');

const gc = (s: TestImageServices, dryRun = false) =>
  collectGarbage({ metadata: s.metadata, content: s.content, snapshotter: s.snapshotter }, { dryRun });

async function blobs(s: TestImageServices): Promise<string[]> {
  return (await s.content.list()).map((b) => b.digest).sort();
}

async function snapshots(s: TestImageServices): Promise<string[]> {
  const keys: string[] = [];
  await s.snapshotter.walk((info) => {
    keys.push(info.name);
  });
  return keys.sort();
}

describe('garbage collection of pulled images', { skip }, () => {
  const work = skip ? '' : tempDir({ after: (cleanup: () => void) => after(cleanup) }, 'gc-fixtures');
  let built: Promise<Fixtures> | undefined;
  const getFixtures = () => {
    built ??= buildFixtures(work);
    return built;
  };
  const push = async (registry: TestRegistry, name: FixtureName) => {
    const f = (await getFixtures())[name];
    const ref = `${registry.host}/berth-test/${name}:latest`;
    await skopeoCopy(`oci:${f.layoutDir}:latest`, `docker://${ref}`, { preserveDigests: true });
    return ref;
  };

  test('removing one of two images that share a base layer frees only what it alone used', async (t) => {
    const fixtures = await getFixtures();
    const registry = await startRegistry(t, { auth: 'none' });
    const s = await testImageServices(t);
    const single = await s.images.pull(await push(registry, 'single'));
    const multi = await s.images.pull(await push(registry, 'multi'));
    const before = await blobs(s);

    const nothing = await gc(s);
    assert.deepEqual(nothing.blobsRemoved, [], 'everything is referenced');
    assert.deepEqual(nothing.snapshotsRemoved, []);

    await s.images.remove(multi.name);
    const dry = await gc(s, true);
    assert.deepEqual(await blobs(s), before, 'a dry run removes nothing');
    const result = await gc(s);
    assert.deepEqual(result, dry, 'the dry run announced exactly what the collection did');

    const onlyMulti = [
      multi.target.digest,
      fixtures.multi.configDigest,
      ...fixtures.multi.layers.slice(1).map((l) => l.digest),
    ];
    assert.deepEqual(result.blobsRemoved.map((b) => b.digest).sort(), onlyMulti.sort());
    assert.equal(result.snapshotsRemoved.length, 2, 'the two upper layers of multi');
    assert.deepEqual(await snapshots(s), [single.chainID]);
    assert.deepEqual((await s.content.verify()).corrupt, []);

    // The remaining image is whole: its rootfs still mounts and reads.
    const dir = join(s.root, 'view');
    mkdirSync(dir);
    t.after(() => unmountAll(dir));
    await mountAll(await s.snapshotter.view('check', single.chainID), dir);
    assert.deepEqual(readFileSync(join(dir, 'bin/busybox')), readFileSync('/bin/busybox'));
  });

  test('a lease keeps a blob no image names until it expires', async (t) => {
    const s = await testImageServices(t);
    const info = await s.content.writeBlob(Buffer.from('leased bytes'));
    s.metadata.leases.create({ id: 'keep', expires: new Date(Date.now() + 60_000) });
    s.metadata.leases.addResource('keep', { type: 'content', id: info.digest });
    assert.deepEqual((await gc(s)).blobsRemoved, []);
    s.metadata.leases.delete('keep');
    s.metadata.leases.create({ id: 'old', expires: new Date(Date.now() - 1000) });
    s.metadata.leases.addResource('old', { type: 'content', id: info.digest });
    const result = await gc(s);
    assert.deepEqual(result.leasesExpired, ['old']);
    assert.deepEqual(
      result.blobsRemoved.map((b) => b.digest),
      [info.digest],
    );
  });

  test("stale partial ingests and crashed writers' leftovers are swept; fresh and leased ones stay", async (t) => {
    const s = await testImageServices(t);
    const partial = async (ref: string, bytes: string) => {
      const digest = `sha256:${createHash('sha256').update(`${bytes}-whole`).digest('hex')}`;
      const w = await s.content.writer(ref, { digest, size: 100 });
      await w.write(Buffer.from(bytes));
      await w.close();
      return digest;
    };
    await partial('old', 'old bytes');
    await partial('fresh', 'fresh bytes');
    const leasedDigest = await partial('old-but-leased', 'leased bytes');
    s.metadata.leases.create({ id: 'pull', expires: new Date(Date.now() + 60_000) });
    s.metadata.leases.addResource('pull', { type: 'content', id: leasedDigest });
    // Age two ingests past the threshold: their recorded update time is the writer's, a file.
    const aDayAgo = new Date(Date.now() - 25 * 3600 * 1000).toISOString();
    for (const ref of ['old', 'old-but-leased']) {
      writeFileSync(join(ingestDirFor(s.content.ingestRoot, ref), 'updatedat'), aDayAgo);
    }
    const oldTemp = join(s.content.dir, '.tmp-blob-crashed');
    const newTemp = join(s.content.dir, '.tmp-blob-writing');
    writeFileSync(oldTemp, 'x');
    writeFileSync(newTemp, 'y');
    utimesSync(oldTemp, new Date(Date.now() - 2 * 3600 * 1000), new Date(Date.now() - 2 * 3600 * 1000));
    mkdirSync(join(s.content.ingestRoot, '.trash-deadbeef'));

    const result = await gc(s);
    assert.deepEqual(result.ingestsRemoved, ['old']);
    assert.deepEqual(
      result.leftoversRemoved.sort(),
      [oldTemp, join(s.content.ingestRoot, '.trash-deadbeef')].sort(),
    );
    assert.deepEqual((await s.content.ingests()).map((i) => i.ref).sort(), ['fresh', 'old-but-leased']);
    assert.equal(existsSync(newTemp), true, 'a temp file being written is left alone');
  });

  test('collections running throughout a pull leave the pulled image whole', async (t) => {
    const registry = await startRegistry(t, { auth: 'none' });
    const ref = await push(registry, 'multi');
    const s = await testImageServices(t);
    let done = false;
    let collections = 0;
    const loop = (async () => {
      while (!done) {
        await gc(s);
        collections++;
        await yieldLoop();
      }
    })();
    try {
      const image = await s.images.pull(ref);
      done = true;
      await loop;
      assert.ok(collections > 0);
      assert.deepEqual((await gc(s)).blobsRemoved, [], 'nothing of the image is unreferenced');
      assert.deepEqual((await s.content.verify()).corrupt, []);
      assert.equal((await s.snapshotter.stat(image.chainID)).kind, 'committed');
      assert.equal((await blobs(s)).length, 5, 'manifest, config and three layers');
    } finally {
      done = true;
      await loop;
    }
  });
});
