// The content store directory is an OCI image layout that another tool reads: skopeo (containers/image)
// addresses an image in it as `oci:<root>/content:<full image name>`. containers/image splits that
// reference at the first ':' (oci/layout/oci_transport.go, internal.SplitPathAndImage), so the store
// path must not contain ':' but the name may: `127.0.0.1:5000/foo:latest` and `name@sha256:…` work.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContentStore, contentStoreDir } from '../../src/content/index.ts';
import type { Index } from '../../src/oci/image/index.ts';
import { buildFixtures, type FixtureLayout } from '../harness/fixtures.ts';
import { needs } from '../harness/requirements.ts';
import { skopeoCopy, skopeoInspectRaw } from '../harness/skopeo.ts';
import { tempDir } from '../harness/tmp.ts';

const sha256 = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Copies every blob of a fixture layout into the store through resumable writers, as a pull would. */
async function copyIntoStore(fixture: FixtureLayout, store: ContentStore): Promise<void> {
  const source = await ContentStore.open(fixture.layoutDir);
  for await (const { digest, size } of source.walk()) {
    try {
      const w = await store.writer(`copy-${digest}`, { digest, size });
      for await (const chunk of await source.readStream(digest, { offset: w.offset })) await w.write(chunk);
      await w.commit();
    } catch (err) {
      // Fixtures share their base layer: the second copy finds it stored.
      if ((err as { code?: unknown }).code !== 'AlreadyExists') throw err;
    }
  }
}

test('skopeo reads images from the content store by their full names', {
  skip: needs('skopeo'),
}, async (t) => {
  const tmp = tempDir(t, 'content-skopeo');
  const fixtures = await buildFixtures(tmp);
  const store = await ContentStore.create(contentStoreDir(join(tmp, 'root')));
  await copyIntoStore(fixtures.single, store);
  await copyIntoStore(fixtures.multiarch, store);
  const single = fixtures.single.manifest;
  const names = ['127.0.0.1:5000/foo:latest', 'busybox', `docker.io/library/busybox@${single.digest}`];
  for (const name of names) await store.setImage(name, single);
  await store.setImage('127.0.0.1:5000/multi:v1', fixtures.multiarch.manifest);
  // A partial download in the store is invisible to readers of the layout.
  const partial = await store.writer('in-progress', { digest: sha256(Buffer.from('x')), size: 1 });
  await partial.close();

  for (const name of names) {
    const raw = await skopeoInspectRaw(`oci:${store.dir}:${name}`);
    assert.equal(sha256(raw), single.digest, name);
  }
  const rawIndex = await skopeoInspectRaw(`oci:${store.dir}:127.0.0.1:5000/multi:v1`);
  assert.equal(sha256(rawIndex), fixtures.multiarch.manifest.digest);

  // A full copy out of the store: every blob is found and verifies on skopeo's side.
  const out = join(tmp, 'out');
  await skopeoCopy(`oci:${store.dir}:127.0.0.1:5000/foo:latest`, `oci:${out}:copied`, {
    preserveDigests: true,
  });
  const outIndex = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as Index;
  assert.equal(outIndex.manifests[0]?.digest, single.digest);
  await skopeoCopy(`oci:${store.dir}:127.0.0.1:5000/multi:v1`, `oci:${out}:all`, {
    all: true,
    preserveDigests: true,
  });
  assert.deepEqual(await store.verify(), { checked: (await store.list()).length, corrupt: [] });
});

test('skopeo writes into the store; the store lists and verifies what it wrote', {
  skip: needs('skopeo'),
}, async (t) => {
  const tmp = tempDir(t, 'content-skopeo');
  const fixtures = await buildFixtures(tmp);
  // skopeo adds to an existing layout (it takes no part in berth's index lock: tests only).
  const dir = (await ContentStore.create(contentStoreDir(join(tmp, 'root')))).dir;
  await skopeoCopy(`oci:${fixtures.multi.layoutDir}:latest`, `oci:${dir}:example.com/multi:latest`, {
    preserveDigests: true,
  });
  const store = await ContentStore.open(dir);
  const [image] = await store.images();
  assert.equal(image?.name, 'example.com/multi:latest');
  assert.equal(image?.descriptor.digest, fixtures.multi.manifest.digest);
  const report = await store.verify();
  assert.equal(report.checked, 5, 'config, manifest, three layers');
  assert.deepEqual(report.corrupt, []);
});
