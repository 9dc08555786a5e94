import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { OciLayout } from '../../src/content/index.ts';
import {
  AnnotationRefName,
  type Descriptor,
  type ImageConfig,
  type Index,
  type Manifest,
  MediaType,
} from '../../src/oci/image/index.ts';
import {
  buildFixtures,
  busyboxApplets,
  busyboxPath,
  decompressLayer,
  type FixtureLayout,
  type FixtureName,
  type Fixtures,
  hostPlatform,
  readTarEntries,
  type TarEntryRead,
  writeDirTransportView,
} from '../harness/fixtures.ts';
import { which } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const execFileAsync = promisify(execFile);
const sha256 = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const names: FixtureName[] = ['single', 'multi', 'zstd', 'uncompressed', 'docker', 'multiarch'];

/** Reads a blob through the layout, checking it against its descriptor's digest and size. */
function blob(fixture: FixtureLayout, desc: Descriptor): Buffer {
  const data = readFileSync(join(fixture.layoutDir, 'blobs', 'sha256', desc.digest.slice('sha256:'.length)));
  assert.equal(sha256(data), desc.digest, `${fixture.name}: blob ${desc.digest}`);
  assert.equal(data.byteLength, desc.size, `${fixture.name}: size of ${desc.digest}`);
  return data;
}

const json = <T>(fixture: FixtureLayout, desc: Descriptor): T =>
  JSON.parse(blob(fixture, desc).toString()) as T;

/** The (first) image manifest of a fixture: the top manifest, or the index's first entry. */
function imageManifest(fixture: FixtureLayout): Manifest {
  if (fixture.name !== 'multiarch') return json<Manifest>(fixture, fixture.manifest);
  const first = json<Index>(fixture, fixture.manifest).manifests[0];
  assert.ok(first);
  return json<Manifest>(fixture, first);
}

async function layerEntries(fixture: FixtureLayout, index: number): Promise<Map<string, TarEntryRead>> {
  const layer = fixture.layers[index];
  assert.ok(layer, `${fixture.name} layer ${index}`);
  const entries = await readTarEntries(decompressLayer(blob(fixture, layer), layer.mediaType));
  return new Map(entries.map((e) => [e.header.name, e]));
}

test('buildFixtures', async (t) => {
  const started = performance.now();
  const fixtures: Fixtures = await buildFixtures(tempDir(t, 'fixtures'));
  const elapsed = performance.now() - started;
  t.diagnostic(`six fixtures built in ${elapsed.toFixed(0)} ms`);
  // The target is well under 2 s; the bound leaves room for a loaded CI machine.
  assert.ok(elapsed < 10_000, `fixtures took ${elapsed} ms`);

  await t.test('every fixture is a layout tagged latest whose blobs match their descriptors', async () => {
    assert.deepEqual(Object.keys(fixtures).sort(), [...names].sort());
    for (const name of names) {
      const f = fixtures[name];
      assert.equal(f.name, name);
      assert.equal(f.tag, 'latest');
      const layout = await OciLayout.open(f.layoutDir);
      const index = await layout.readIndex();
      assert.equal(index.manifests.length, 1, name);
      const top = index.manifests[0];
      assert.deepEqual(top?.annotations, { [AnnotationRefName]: 'latest' });
      assert.deepEqual({ ...top, annotations: undefined }, { ...f.manifest, annotations: undefined });
      const manifest = imageManifest(f);
      assert.deepEqual(manifest.layers, f.layers, name);
      assert.equal(manifest.config.digest, f.configDigest, name);
      const config = json<ImageConfig>(f, manifest.config);
      assert.equal(config.rootfs.diff_ids.length, f.layers.length);
      for (const [i, layer] of f.layers.entries()) {
        // diffID = sha256 of the uncompressed tar.
        assert.equal(sha256(decompressLayer(blob(f, layer), layer.mediaType)), config.rootfs.diff_ids[i]);
      }
      assert.deepEqual(config.config?.Cmd, ['sh']);
    }
  });

  await t.test('media types per fixture', () => {
    const types = (name: FixtureName) => [
      fixtures[name].manifest.mediaType,
      imageManifest(fixtures[name]).config.mediaType,
      ...fixtures[name].layers.map((l) => l.mediaType),
    ];
    const oci = [MediaType.ociManifest, MediaType.ociConfig];
    assert.deepEqual(types('single'), [...oci, MediaType.ociLayerGzip]);
    assert.deepEqual(types('multi'), [...oci, ...Array(3).fill(MediaType.ociLayerGzip)]);
    assert.deepEqual(types('zstd'), [...oci, ...Array(3).fill(MediaType.ociLayerZstd)]);
    assert.deepEqual(types('uncompressed'), [...oci, MediaType.ociLayer]);
    assert.deepEqual(types('docker'), [
      MediaType.dockerManifest,
      MediaType.dockerConfig,
      ...Array(3).fill(MediaType.dockerLayerGzip),
    ]);
    assert.deepEqual(types('multiarch'), [MediaType.ociIndex, MediaType.ociConfig, MediaType.ociLayerGzip]);
    // Same bytes, same blob: docker reuses multi's layers, multi and multiarch single's busybox layer.
    assert.deepEqual(
      fixtures.docker.layers.map((l) => l.digest),
      fixtures.multi.layers.map((l) => l.digest),
    );
    assert.equal(fixtures.multi.layers[0]?.digest, fixtures.single.layers[0]?.digest);
    assert.equal(fixtures.multiarch.layers[0]?.digest, fixtures.single.layers[0]?.digest);
  });

  await t.test('single holds busybox, its applet links, passwd/group and a sticky /tmp', async () => {
    const entries = await layerEntries(fixtures.single, 0);
    const busybox = entries.get('bin/busybox');
    assert.ok(busybox);
    assert.deepEqual([busybox.header.type, busybox.header.mode, busybox.header.uid], ['file', 0o755, 0]);
    assert.deepEqual(busybox.data, readFileSync(busyboxPath));
    for (const applet of ['sh', 'echo', 'true', 'cat', 'ls', ...busyboxApplets]) {
      const link = entries.get(`bin/${applet}`)?.header;
      assert.deepEqual([link?.type, link?.linkname], ['symlink', 'busybox'], applet);
    }
    const passwd = entries.get('etc/passwd')?.data.toString() ?? '';
    assert.match(passwd, /^root:x:0:0:/m);
    assert.match(passwd, /^nobody:x:65534:65534:/m);
    assert.match(entries.get('etc/group')?.data.toString() ?? '', /^nobody:x:65534:/m);
    assert.deepEqual(
      [entries.get('tmp/')?.header.type, entries.get('tmp/')?.header.mode],
      ['directory', 0o1777],
    );
  });

  await t.test(
    'multi: hardlink, setuid and uid 1000 in layer 2; whiteout, opaque, overwrite in layer 3',
    async () => {
      for (const name of ['multi', 'zstd', 'docker'] as const) {
        const l2 = await layerEntries(fixtures[name], 1);
        assert.equal(l2.get('data/gone.txt')?.data.toString(), 'gone\n');
        assert.equal(l2.get('data/a.txt')?.data.toString(), 'a v1\n');
        assert.deepEqual(
          [l2.get('data/keep/x-link')?.header.type, l2.get('data/keep/x-link')?.header.linkname],
          ['link', 'data/keep/x'],
        );
        assert.equal(l2.get('data/suid')?.header.mode, 0o4755);
        const owned = l2.get('data/owned.txt')?.header;
        assert.deepEqual([owned?.uid, owned?.gid], [1000, 1000]);
        assert.ok(l2.has('opq/old1.txt') && l2.has('opq/old2.txt'));

        const l3 = await layerEntries(fixtures[name], 2);
        assert.deepEqual([...l3.keys()].sort(), [
          'data/',
          'data/.wh.gone.txt',
          'data/a.txt',
          'opq/',
          'opq/.wh..wh..opq',
          'opq/new.txt',
        ]);
        assert.equal(l3.get('data/.wh.gone.txt')?.header.size, 0);
        assert.equal(l3.get('data/a.txt')?.data.toString(), 'a v2\n');
      }
    },
  );

  await t.test('multiarch: an index of linux/amd64 and linux/arm64/v8 over the busybox layer', () => {
    const f = fixtures.multiarch;
    const index = json<Index>(f, f.manifest);
    assert.deepEqual(
      index.manifests.map((m) => m.platform),
      [
        { architecture: 'amd64', os: 'linux' },
        { architecture: 'arm64', os: 'linux', variant: 'v8' },
      ],
    );
    const configs = index.manifests.map((m) => json<ImageConfig>(f, json<Manifest>(f, m).config));
    assert.deepEqual(
      configs.map((c) => [c.architecture, c.os, c.variant]),
      [
        ['amd64', 'linux', undefined],
        ['arm64', 'linux', 'v8'],
      ],
    );
    assert.equal(configs[0]?.rootfs.diff_ids[0], configs[1]?.rootfs.diff_ids[0]);
    // On an amd64 host the amd64 entry is exactly the single image.
    if (hostPlatform().architecture === 'amd64') {
      assert.equal(index.manifests[0]?.digest, fixtures.single.manifest.digest);
    }
  });

  await t.test('a second build gives the same digests (deterministic output)', async (t2) => {
    const again = await buildFixtures(tempDir(t2, 'fixtures'));
    for (const name of names) {
      assert.deepEqual(again[name].manifest, fixtures[name].manifest, name);
      assert.equal(again[name].configDigest, fixtures[name].configDigest, name);
    }
  });

  await t.test(
    'skopeo reads every fixture',
    { skip: which('skopeo') ? false : 'needs skopeo' },
    async (t2) => {
      for (const name of names) {
        const f = fixtures[name];
        // containers/image resolves `oci:` tags only to OCI-typed index entries, so the Docker
        // fixture is read through a `dir:` view of the same blobs.
        const ref =
          name === 'docker'
            ? `dir:${await writeDirTransportView(f, join(tempDir(t2, 'dirview'), 'view'))}`
            : `oci:${f.layoutDir}:${f.tag}`;
        const raw = await execFileAsync('skopeo', ['inspect', '--raw', ref], { encoding: 'buffer' });
        assert.equal(sha256(raw.stdout), f.manifest.digest, name);
        // Without --raw skopeo also parses the config (for the index: the host platform's image).
        const { stdout } = await execFileAsync('skopeo', ['inspect', ref]);
        const info = JSON.parse(stdout) as { Architecture: string; Layers: string[] };
        assert.equal(info.Architecture, hostPlatform().architecture, name);
        if (name !== 'multiarch')
          assert.deepEqual(
            info.Layers,
            f.layers.map((l) => l.digest),
            name,
          );
      }
    },
  );
});
