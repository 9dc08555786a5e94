import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { after, describe, test } from 'node:test';
import type { PullProgress } from '../../src/images/index.ts';
import { mountAll, unmountAll } from '../../src/mount/index.ts';
import { testImageServices } from '../harness/berth-images.ts';
import {
  buildFixtures,
  type FixtureName,
  type Fixtures,
  writeDirTransportView,
} from '../harness/fixtures.ts';
import { imageFromTars, pullSandbox, pushImage, tarOf } from '../harness/pull-check.ts';
import { type RegistryAuth, startRegistry, type TestRegistry } from '../harness/registry.ts';
import { needs } from '../harness/requirements.ts';
import { skopeoCopy, skopeoInspectRaw } from '../harness/skopeo.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = needs('docker-registry', 'skopeo', 'openssl', 'busybox', 'mount', 'mknod', 'setfattr');

/** Pushes a fixture with skopeo (the independent client) as berth-test/<name>:latest. */
async function push(
  registry: TestRegistry,
  fixtures: Fixtures,
  name: FixtureName,
  work: string,
): Promise<string> {
  const f = fixtures[name];
  const ref = `${registry.host}/berth-test/${name}:latest`;
  const creds =
    registry.username === undefined
      ? {}
      : { creds: { username: registry.username, password: registry.password ?? '' } };
  // skopeo 1.9 reads only OCI-typed entries of an OCI layout's index.json; the Docker-typed fixture
  // goes through its dir: transport instead (test/harness/fixtures.ts).
  const src =
    name === 'docker'
      ? `dir:${await writeDirTransportView(f, join(work, `dir-${name}`))}`
      : `oci:${f.layoutDir}:${f.tag}`;
  await skopeoCopy(src, `docker://${ref}`, { ...creds, all: name === 'multiarch', preserveDigests: true });
  return ref;
}

/** Mounts a read-only view of an image's top snapshot, runs fn on the mount point, cleans up. */
async function withRootfs<T>(
  t: TestContext,
  s: Awaited<ReturnType<typeof testImageServices>>,
  chainID: string,
  fn: (dir: string) => T,
): Promise<T> {
  const dir = join(s.root, `view-${Math.random().toString(16).slice(2)}`);
  mkdirSync(dir);
  const key = `view-${dir}`;
  const mounts = await s.snapshotter.view(key, chainID);
  t.after(() => unmountAll(dir));
  await mountAll(mounts, dir);
  try {
    return fn(dir);
  } finally {
    await unmountAll(dir);
    await s.snapshotter.remove(key);
  }
}

describe('berth pull from a real registry', { skip }, () => {
  // Built once for the suite, removed when it ends (a suite has no TestContext, so after() it is).
  const work = skip ? '' : tempDir({ after: (cleanup: () => void) => after(cleanup) }, 'pull-fixtures');
  let built: Promise<Fixtures> | undefined;
  const getFixtures = () => {
    built ??= buildFixtures(work);
    return built;
  };

  for (const auth of ['none', 'basic', 'token'] as RegistryAuth[]) {
    test(`every fixture pulls and unpacks (${auth} auth)`, async (t) => {
      const fixtures = await getFixtures();
      const registry = await startRegistry(t, { auth });
      const creds =
        registry.username === undefined
          ? undefined
          : { username: registry.username, password: registry.password ?? '' };
      const s = await testImageServices(t, {
        host: registry.host,
        ...(creds === undefined ? {} : { creds }),
      });
      for (const name of [
        'single',
        'multi',
        'zstd',
        'uncompressed',
        'docker',
        'multiarch',
      ] as FixtureName[]) {
        const ref = await push(registry, fixtures, name, work);
        const events: PullProgress[] = [];
        const image = await s.images.pull(ref, { onProgress: (e) => events.push(e) });
        assert.equal(image.name, ref);
        assert.equal(image.target.digest, fixtures[name].manifest.digest, `${name}: target digest`);
        assert.equal(s.metadata.images.get(ref).target.digest, image.target.digest);
        for (const layer of fixtures[name].layers) {
          assert.equal((await s.content.info(layer.digest)).size, layer.size, `${name}: layer blob stored`);
          // Layers shared with an image pulled before (the busybox base) are found, not fetched again.
          const last = events.findLast((e) => e.id === layer.digest)?.phase;
          assert.ok(last === 'done' || last === 'exists', `${name}: ${layer.digest} ended ${last}`);
        }
        await withRootfs(t, s, image.chainID, (root) => {
          assert.deepEqual(readFileSync(join(root, 'bin/busybox')), readFileSync('/bin/busybox'));
          assert.equal(lstatSync(join(root, 'bin/sh')).isSymbolicLink(), true);
          assert.equal(statSync(join(root, 'tmp')).mode & 0o7777, 0o1777);
          if (name === 'multi' || name === 'zstd' || name === 'docker') {
            assert.equal(
              readFileSync(join(root, 'data/a.txt'), 'utf8'),
              'a v2\n',
              `${name}: upper layer wins`,
            );
            assert.equal(existsSync(join(root, 'data/gone.txt')), false, `${name}: whiteout applied`);
            assert.deepEqual(readdirSync(join(root, 'opq')), ['new.txt'], `${name}: opaque dir`);
            assert.equal(
              statSync(join(root, 'data/keep/x')).ino,
              statSync(join(root, 'data/keep/x-link')).ino,
            );
            assert.equal(statSync(join(root, 'data/suid')).mode & 0o7777, 0o4755);
            const owned = statSync(join(root, 'data/owned.txt'));
            assert.deepEqual([owned.uid, owned.gid, owned.mode & 0o777], [1000, 1000, 0o640]);
          }
        });
      }
      // skopeo reads berth's store as an OCI image layout, by the image's full name.
      const name = `${registry.host}/berth-test/multi:latest`;
      const raw = await skopeoInspectRaw(`oci:${join(s.root, 'content')}:${name}`);
      assert.equal(JSON.parse(raw.toString()).layers.length, 3);
    });
  }

  test('more layers than download slots, the first the smallest: both snapshotters, in order', async (t) => {
    // Overlay layers start largest first (unpack-layers.ts); native ones wait in their slot for the
    // parent, so they must keep manifest order or the three big ones would hold every slot (3 here)
    // waiting for the small first one.
    const registry = await startRegistry(t, { auth: 'none' });
    const random = (n: number, seed: number) =>
      Buffer.alloc(n, `${seed}`.repeat(7) + String.fromCharCode(65 + seed));
    const tars = [
      await tarOf([{ name: 'f', content: 'first\n' }]),
      ...(await Promise.all(
        [1, 2, 3].map((i) =>
          tarOf([
            { name: `big${i}`, content: random(200_000 * i, i) },
            { name: 'f', content: `layer ${i}\n` },
          ]),
        ),
      )),
    ];
    const image = await imageFromTars(join(work, 'ordered'), tars);
    const ref = await pushImage(registry, image.layoutDir, 'berth-test/ordered');
    for (const snapshotter of ['overlayfs', 'native'] as const) {
      const sb = await pullSandbox(t, { snapshotter });
      const pulled = await sb.s.images.pull(ref);
      await withRootfs(t, sb.s, pulled.chainID, (root) => {
        assert.equal(
          readFileSync(join(root, 'f'), 'utf8'),
          'layer 3\n',
          `${snapshotter}: the last layer wins`,
        );
        for (const i of [1, 2, 3]) assert.equal(statSync(join(root, `big${i}`)).size, 200_000 * i);
      });
    }
  });

  test('a second pull finds every layer present and downloads no blob', async (t) => {
    const fixtures = await getFixtures();
    const registry = await startRegistry(t, { auth: 'none' });
    const ref = await push(registry, fixtures, 'multi', work);
    const s = await testImageServices(t);
    await s.images.pull(ref);
    const events: PullProgress[] = [];
    await s.images.pull(ref, { onProgress: (e) => events.push(e) });
    const layerPhases = events.filter((e) => e.kind === 'layer' && e.phase !== 'waiting').map((e) => e.phase);
    assert.deepEqual(layerPhases, ['exists', 'exists', 'exists']);
  });
});
