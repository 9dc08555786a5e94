// berth image export / import against skopeo as the independent reader and writer of both archive
// formats (oci-archive: and docker-archive:), with the imported rootfs checked through a mounted
// snapshot view. Hostile archives are in archive-hostile.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, type TestContext, test } from 'node:test';
import { OciLayout } from '../../src/content/index.ts';
import { mountAll, unmountAll } from '../../src/mount/index.ts';
import { MediaType } from '../../src/oci/image/index.ts';
import { type TestImageServices, testImageServices } from '../harness/berth-images.ts';
import { buildFixtures, type Fixtures } from '../harness/fixtures.ts';
import { needs } from '../harness/requirements.ts';
import { skopeoCopy, skopeoInspectRaw } from '../harness/skopeo.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = needs('skopeo', 'busybox', 'mount', 'mknod', 'setfattr');
const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** `skopeo inspect` (parsed) of a local archive: no registry, so no policy or credentials are read. */
function skopeoInspect(ref: string): unknown {
  return JSON.parse(execFileSync('skopeo', ['inspect', ref], { encoding: 'utf8', timeout: 60_000 }));
}

/** Checks the multi fixture's rootfs through a read-only view of the snapshot `chainID`. */
async function checkMultiRootfs(t: TestContext, s: TestImageServices, chainID: string): Promise<void> {
  const dir = join(s.root, `view-${Math.random().toString(16).slice(2)}`);
  mkdirSync(dir);
  const key = `view-${dir}`;
  const mounts = await s.snapshotter.view(key, chainID);
  t.after(() => unmountAll(dir));
  await mountAll(mounts, dir);
  try {
    assert.deepEqual(readFileSync(join(dir, 'bin/busybox')), readFileSync('/bin/busybox'));
    assert.equal(readFileSync(join(dir, 'data/a.txt'), 'utf8'), 'a v2\n', 'upper layer wins');
    assert.equal(existsSync(join(dir, 'data/gone.txt')), false, 'whiteout applied');
    assert.deepEqual(readdirSync(join(dir, 'opq')), ['new.txt'], 'opaque dir');
  } finally {
    await unmountAll(dir);
    await s.snapshotter.remove(key);
  }
}

describe('berth image export and import, with skopeo on the other side', { skip }, () => {
  const work = skip ? '' : tempDir({ after: (cleanup: () => void) => after(cleanup) }, 'archive');
  let built: Promise<Fixtures> | undefined;
  const getFixtures = () => {
    built ??= buildFixtures(work);
    return built;
  };
  const name = 'example.com/berth/multi:v1';

  /** berth with the multi fixture imported from its OCI layout directory. */
  async function withMulti(t: TestContext) {
    const fixtures = await getFixtures();
    const s = await testImageServices(t);
    const [imported] = await s.images.import(fixtures.multi.layoutDir, { name });
    assert.equal(imported?.name, name);
    assert.equal(imported?.target.digest, fixtures.multi.manifest.digest);
    return { fixtures, s, chainID: imported?.chainID as string };
  }

  test('an OCI layout directory imports and unpacks; export as OCI reads back in skopeo', async (t) => {
    const { fixtures, s, chainID } = await withMulti(t);
    await checkMultiRootfs(t, s, chainID);
    const file = join(tempDir(t, 'oci-export'), 'multi.tar');
    await s.images.export([name], file, { format: 'oci' });
    const raw = await skopeoInspectRaw(`oci-archive:${file}`);
    assert.equal(sha256(raw), fixtures.multi.manifest.digest, 'skopeo reads the same manifest');
    const copy = join(tempDir(t, 'oci-copy'), 'layout');
    await skopeoCopy(`oci-archive:${file}`, `oci:${copy}:v1`, { preserveDigests: true });
    const layout = await OciLayout.open(copy);
    assert.equal((await layout.resolve('v1')).digest, fixtures.multi.manifest.digest);
    for (const l of fixtures.multi.layers) assert.equal((await layout.blobInfo(l.digest)).size, l.size);
    // The archive also comes back into a fresh berth, named by containerd's annotation.
    const again = await testImageServices(t);
    const [back] = await again.images.import(file);
    assert.equal(back?.name, name);
    await checkMultiRootfs(t, again, back?.chainID as string);
  });

  test('a docker save archive reads in skopeo and imports back with the same rootfs', async (t) => {
    const { fixtures, s } = await withMulti(t);
    const file = join(tempDir(t, 'docker-export'), 'multi.tar');
    await s.images.export([name], file, { format: 'docker' });
    const config = JSON.parse(
      (await s.content.readBytes(fixtures.multi.configDigest, 1 << 20)).toString(),
    ) as { rootfs: { diff_ids: string[] } };
    const inspected = skopeoInspect(`docker-archive:${file}`) as { Layers: string[] };
    assert.deepEqual(inspected.Layers, config.rootfs.diff_ids, 'uncompressed layers, named by diff_id');
    const again = await testImageServices(t);
    const [back] = await again.images.import(file);
    assert.equal(back?.name, name);
    assert.equal(back?.target.mediaType, MediaType.dockerManifest);
    await checkMultiRootfs(t, again, back?.chainID as string);
  });

  test('an oci-archive written by skopeo imports under its ref name', async (t) => {
    const fixtures = await getFixtures();
    const file = join(tempDir(t, 'skopeo-oci'), 'multi.tar');
    const ref = 'registry.example/berth/multi:v2';
    await skopeoCopy(`oci:${fixtures.multi.layoutDir}:latest`, `oci-archive:${file}:${ref}`, {
      preserveDigests: true,
    });
    const s = await testImageServices(t);
    const [image] = await s.images.import(file);
    assert.equal(image?.name, ref);
    assert.equal(image?.target.digest, fixtures.multi.manifest.digest);
    assert.equal(s.metadata.images.get(ref).target.digest, fixtures.multi.manifest.digest);
    for (const l of fixtures.multi.layers) assert.equal((await s.content.info(l.digest)).size, l.size);
    await checkMultiRootfs(t, s, image?.chainID as string);
  });

  test('a docker-archive written by skopeo imports with a synthesised schema2 manifest', async (t) => {
    const fixtures = await getFixtures();
    const file = join(tempDir(t, 'skopeo-docker'), 'multi.tar');
    await skopeoCopy(`oci:${fixtures.multi.layoutDir}:latest`, `docker-archive:${file}:berth-test/multi:v3`);
    const s = await testImageServices(t);
    const [image] = await s.images.import(file);
    assert.equal(image?.name, 'docker.io/berth-test/multi:v3');
    const details = await s.images.inspect('berth-test/multi:v3');
    assert.equal(details.manifest.mediaType, MediaType.dockerManifest);
    assert.deepEqual(
      details.layers.map((l) => [l.mediaType, l.digest]),
      details.config.rootfs.diff_ids.map((d) => [MediaType.dockerLayer, d]),
      'uncompressed layers stored under their diff_ids',
    );
    for (const l of details.layers) assert.equal((await s.content.info(l.digest)).size, l.size);
    await checkMultiRootfs(t, s, image?.chainID as string);
  });
});
