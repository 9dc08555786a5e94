import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type BlobSource, type BlobWriter, OciLayout } from '../../src/content/index.ts';
import {
  CanceledError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
} from '../../src/errdefs/index.ts';
import {
  type BuiltLayer,
  imageIndex,
  type LayerEntry,
  planEntries,
  reproducibleEpoch,
  writeImage,
  writeImageIndex,
  writeLayer,
} from '../../src/imagebuild/index.ts';
import {
  type ImageConfig,
  type Index,
  type LayerCompression,
  type Manifest,
  MediaType,
} from '../../src/oci/image/index.ts';
import { decompressLayer, readTarEntries } from '../harness/fixtures.ts';
import { tempDir } from '../harness/tmp.ts';

const sha256 = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

const compressedType: Record<LayerCompression, string> = {
  none: MediaType.ociLayer,
  gzip: MediaType.ociLayerGzip,
  zstd: MediaType.ociLayerZstd,
};

function sampleEntries(hostFile: string): LayerEntry[] {
  return [
    { type: 'file', path: '/etc/hostname', content: 'berth\n', mode: 0o600, uid: 7, gid: 8 },
    { type: 'file', path: '/usr/lib/big.bin', hostPath: hostFile, mode: 0o755 },
    { type: 'dir', path: '/tmp', mode: 0o1777 },
    { type: 'symlink', path: '/usr/bin/sh', target: '/bin/busybox' },
    { type: 'hardlink', path: '/etc/hostname.link', target: '/etc/hostname' },
    { type: 'char', path: '/dev/null', major: 1, minor: 3, mode: 0o666 },
    { type: 'fifo', path: '/run/fifo' },
    { type: 'file', path: '/usr/bin/suid', content: 'x', mode: 0o4755, uid: 1000, gid: 1000 },
    { type: 'whiteout', path: '/var/old.log' },
    { type: 'opaque', path: '/opt' },
  ];
}

test('planEntries sorts, adds parent directories, names whiteouts, and puts hardlinks last', () => {
  const planned = planEntries(
    [
      { type: 'hardlink', path: '/a/link', target: '/z/file' },
      { type: 'file', path: '/z/file', content: 'z' },
      { type: 'whiteout', path: '/a/b/gone' },
      { type: 'opaque', path: '/a' },
      { type: 'dir', path: 'a-b' },
    ],
    reproducibleEpoch,
  );
  assert.deepEqual(
    planned.map((p) => [p.header.name, p.header.type]),
    [
      ['a/', 'directory'],
      ['a/.wh..wh..opq', 'file'],
      ['a/b/', 'directory'],
      ['a/b/.wh.gone', 'file'],
      ['a-b/', 'directory'],
      ['z/', 'directory'],
      ['z/file', 'file'],
      ['a/link', 'link'],
    ],
  );
  assert.equal(planned.at(-1)?.header.linkname, 'z/file');
});

test('planEntries rejects paths and entries that would make a wrong or unsafe tar', () => {
  const bad: [string, LayerEntry[]][] = [
    ['..', [{ type: 'file', path: '/a/../../etc/passwd', content: '' }]],
    ['root', [{ type: 'dir', path: '/' }]],
    [
      'twice',
      [
        { type: 'file', path: '/a', content: '' },
        { type: 'dir', path: 'a/' },
      ],
    ],
    ['reserved .wh.', [{ type: 'file', path: '/a/.wh.b', content: '' }]],
    [
      'add and delete',
      [
        { type: 'file', path: '/a', content: '' },
        { type: 'whiteout', path: '/a' },
      ],
    ],
    ['link to nothing', [{ type: 'hardlink', path: '/l', target: '/missing' }]],
    [
      'link to a dir',
      [
        { type: 'dir', path: '/d' },
        { type: 'hardlink', path: '/l', target: '/d' },
      ],
    ],
    [
      'parent is a file',
      [
        { type: 'file', path: '/f', content: '' },
        { type: 'file', path: '/f/x', content: '' },
      ],
    ],
    ['mode', [{ type: 'file', path: '/m', content: '', mode: 0o10000 }]],
    ['uid', [{ type: 'file', path: '/u', content: '', uid: 1 << 20 }]],
    ['empty symlink', [{ type: 'symlink', path: '/s', target: '' }]],
  ];
  for (const [why, entries] of bad) {
    assert.throws(() => planEntries(entries, reproducibleEpoch), InvalidArgumentError, why);
  }
});

for (const compression of ['none', 'gzip', 'zstd'] as const) {
  test(`writeLayer (${compression}): digest of the blob, diffID of the tar, entries as asked`, async (t) => {
    const dir = tempDir(t, 'imagebuild');
    const hostFile = join(dir, 'big.bin');
    const big = randomBytes(3 * 1024 * 1024 + 17); // several stream chunks, not a multiple of 512
    writeFileSync(hostFile, big);
    const layout = await OciLayout.create(join(dir, 'layout'));
    const layer = await writeLayer(layout, sampleEntries(hostFile), { compression });

    const blob = readFileSync(layout.blobPath(layer.digest));
    assert.equal(sha256(blob), layer.digest);
    assert.equal(blob.byteLength, layer.size);
    const tar = decompressLayer(blob, compressedType[compression]);
    assert.equal(sha256(tar), layer.diffId);
    if (compression === 'none') assert.equal(layer.diffId, layer.digest);
    else assert.notEqual(layer.diffId, layer.digest);

    const entries = await readTarEntries(tar);
    const byName = new Map(entries.map((e) => [e.header.name, e]));
    assert.deepEqual(
      entries.map((e) => e.header.name),
      [
        'dev/',
        'dev/null',
        'etc/',
        'etc/hostname',
        'opt/',
        'opt/.wh..wh..opq',
        'run/',
        'run/fifo',
        'tmp/',
        'usr/',
        'usr/bin/',
        'usr/bin/sh',
        'usr/bin/suid',
        'usr/lib/',
        'usr/lib/big.bin',
        'var/',
        'var/.wh.old.log',
        'etc/hostname.link',
      ],
    );
    const get = (name: string) => {
      const e = byName.get(name);
      assert.ok(e, `${name} in the tar`);
      return e;
    };
    assert.deepEqual(get('usr/lib/big.bin').data, big);
    assert.equal(get('usr/lib/big.bin').header.mode, 0o755);
    const hostname = get('etc/hostname').header;
    assert.deepEqual([hostname.type, hostname.mode, hostname.uid, hostname.gid], ['file', 0o600, 7, 8]);
    assert.equal(get('etc/hostname').data.toString(), 'berth\n');
    assert.deepEqual([get('tmp/').header.type, get('tmp/').header.mode], ['directory', 0o1777]);
    assert.deepEqual(
      [get('usr/bin/sh').header.type, get('usr/bin/sh').header.linkname],
      ['symlink', '/bin/busybox'],
    );
    const link = get('etc/hostname.link').header;
    assert.deepEqual([link.type, link.linkname], ['link', 'etc/hostname']);
    const dev = get('dev/null').header;
    assert.deepEqual([dev.type, dev.devmajor, dev.devminor, dev.mode], ['character-device', 1, 3, 0o666]);
    assert.equal(get('run/fifo').header.type, 'fifo');
    const suid = get('usr/bin/suid').header;
    assert.deepEqual([suid.mode, suid.uid, suid.gid], [0o4755, 1000, 1000]);
    assert.deepEqual([get('var/.wh.old.log').header.type, get('var/.wh.old.log').header.size], ['file', 0]);
    assert.equal(get('opt/.wh..wh..opq').header.size, 0);
    for (const e of entries)
      assert.equal(e.header.mtime.getTime(), reproducibleEpoch.getTime(), e.header.name);
    // Only the blob was written: no temp files, no uncompressed copy.
    assert.deepEqual(readdirSync(layout.dir).sort(), ['blobs', 'index.json', 'oci-layout']);
    assert.deepEqual(readdirSync(join(layout.dir, 'blobs', 'sha256')), [layer.digest.slice(7)]);
  });
}

test('gzip output carries no timestamp or file name, so builds are reproducible', async (t) => {
  const dir = tempDir(t, 'imagebuild');
  const entries: LayerEntry[] = [{ type: 'file', path: '/x', content: 'x' }];
  const a = await writeLayer(await OciLayout.create(join(dir, 'a')), entries);
  // Same entries in another order, another layout, a moment later: the same bytes.
  const b = await writeLayer(await OciLayout.create(join(dir, 'b')), [...entries].reverse());
  assert.deepEqual(a, b);
  const blob = readFileSync((await OciLayout.open(join(dir, 'a'))).blobPath(a.digest));
  assert.deepEqual([blob[0], blob[1]], [0x1f, 0x8b]);
  assert.equal((blob[3] ?? 0) & 0x08, 0, 'FNAME flag clear');
  assert.equal(blob.readUInt32LE(4), 0, 'MTIME zero');
});

test('a missing host file fails the layer and leaves no blob or temp file', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'imagebuild'));
  await assert.rejects(
    writeLayer(layout, [{ type: 'file', path: '/x', hostPath: join(layout.dir, 'missing') }]),
    NotFoundError,
  );
  assert.deepEqual(readdirSync(layout.dir).sort(), ['blobs', 'index.json', 'oci-layout']);
  assert.deepEqual(readdirSync(join(layout.dir, 'blobs')), []);
});

test('a blob writer that fails mid-stream fails writeLayer with its error, without hanging', async () => {
  let reads = 0;
  const failing: BlobWriter = {
    async writeBlob(source: BlobSource) {
      for await (const _chunk of source instanceof Uint8Array ? [source] : source) {
        reads += 1;
        // Reading stops here and nothing destroys the source: writeLayer must stop the pipeline.
        throw new UnavailableError('disk went away');
      }
      return { digest: '', size: 0 };
    },
  };
  await assert.rejects(
    writeLayer(failing, [{ type: 'file', path: '/bin/busybox', hostPath: '/bin/busybox' }]),
    UnavailableError,
  );
  assert.equal(reads, 1);
});

test('an aborted signal cancels writeLayer', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'imagebuild'));
  const signal = AbortSignal.abort();
  await assert.rejects(
    writeLayer(layout, [{ type: 'file', path: '/bin/busybox', hostPath: '/bin/busybox' }], { signal }),
    CanceledError,
  );
  assert.deepEqual(readdirSync(layout.dir).sort(), ['blobs', 'index.json', 'oci-layout']);
});

async function twoLayers(layout: OciLayout, compression: LayerCompression = 'gzip'): Promise<BuiltLayer[]> {
  return [
    await writeLayer(layout, [{ type: 'file', path: '/one', content: '1' }], {
      compression,
      createdBy: 'one',
    }),
    await writeLayer(layout, [{ type: 'whiteout', path: '/one' }], { compression, createdBy: 'two' }),
  ];
}

test('writeImage stores a config and an OCI manifest that refer to the layers', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'imagebuild'));
  const layers = await twoLayers(layout, 'zstd');
  const image = await writeImage(layout, {
    platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
    layers,
    config: { Cmd: ['sh'], Env: ['A=1'], WorkingDir: '/w', User: '1:2', Labels: { l: 'v' } },
    annotations: { 'org.opencontainers.image.title': 't' },
  });
  const manifest = JSON.parse((await layout.readBlob(image.manifest.digest)).toString()) as Manifest;
  assert.equal(image.manifest.mediaType, MediaType.ociManifest);
  assert.equal(manifest.mediaType, MediaType.ociManifest);
  assert.deepEqual(manifest.config, image.config);
  assert.equal(manifest.config.mediaType, MediaType.ociConfig);
  assert.deepEqual(
    manifest.layers.map((l) => [l.mediaType, l.digest, l.size]),
    layers.map((l) => [MediaType.ociLayerZstd, l.digest, l.size]),
  );
  assert.deepEqual(manifest.annotations, { 'org.opencontainers.image.title': 't' });
  const config = JSON.parse((await layout.readBlob(image.config.digest)).toString()) as ImageConfig;
  assert.deepEqual(
    [config.architecture, config.os, config.variant, config.created],
    ['arm64', 'linux', 'v8', '2024-01-01T00:00:00Z'],
  );
  assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: layers.map((l) => l.diffId) });
  assert.deepEqual(config.config?.Cmd, ['sh']);
  assert.equal(config.config?.User, '1:2');
  assert.deepEqual(
    config.history?.map((h) => h.created_by),
    ['one', 'two'],
  );
  assert.deepEqual(image.platform, { architecture: 'arm64', os: 'linux', variant: 'v8' });
});

test('Docker format uses schema2 media types and refuses zstd layers and annotations', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'imagebuild'));
  const layers = await twoLayers(layout);
  const image = await writeImage(layout, {
    platform: { architecture: 'amd64', os: 'linux' },
    layers,
    format: 'docker',
  });
  const manifest = JSON.parse((await layout.readBlob(image.manifest.digest)).toString()) as Manifest;
  assert.equal(manifest.mediaType, MediaType.dockerManifest);
  assert.equal(manifest.config.mediaType, MediaType.dockerConfig);
  assert.deepEqual(
    manifest.layers.map((l) => l.mediaType),
    [MediaType.dockerLayerGzip, MediaType.dockerLayerGzip],
  );
  const platform = { architecture: 'amd64', os: 'linux' };
  const zstd = await twoLayers(layout, 'zstd');
  await assert.rejects(
    writeImage(layout, { platform, layers: zstd, format: 'docker' }),
    InvalidArgumentError,
  );
  await assert.rejects(
    writeImage(layout, { platform, layers, format: 'docker', annotations: { a: 'b' } }),
    InvalidArgumentError,
  );
  await assert.rejects(
    writeImage(layout, { platform, layers, history: [{ created_by: 'only one' }] }),
    InvalidArgumentError,
  );
});

test('writeImageIndex lists each manifest with its platform; formats may not be mixed', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'imagebuild'));
  const layers = await twoLayers(layout);
  const amd = await writeImage(layout, { platform: { architecture: 'amd64', os: 'linux' }, layers });
  const arm = await writeImage(layout, {
    platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
    layers,
  });
  const desc = await writeImageIndex(layout, { images: [amd, arm] });
  assert.equal(desc.mediaType, MediaType.ociIndex);
  const index = JSON.parse((await layout.readBlob(desc.digest)).toString()) as Index;
  assert.equal(index.mediaType, MediaType.ociIndex);
  assert.deepEqual(
    index.manifests.map((m) => [m.digest, m.platform]),
    [
      [amd.manifest.digest, { architecture: 'amd64', os: 'linux' }],
      [arm.manifest.digest, { architecture: 'arm64', os: 'linux', variant: 'v8' }],
    ],
  );
  const docker = await writeImage(layout, {
    platform: { architecture: 'amd64', os: 'linux' },
    layers,
    format: 'docker',
  });
  assert.throws(() => imageIndex({ images: [amd, docker] }), InvalidArgumentError);
  assert.equal(imageIndex({ images: [docker], format: 'docker' }).mediaType, MediaType.dockerManifestList);
  assert.throws(() => imageIndex({ images: [] }), InvalidArgumentError);
});

test('mode 0 is written as 0, not replaced by a default', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'imagebuild'));
  const layer = await writeLayer(
    layout,
    [
      { type: 'file', path: '/secret', content: 's', mode: 0 },
      { type: 'dir', path: '/locked', mode: 0 },
    ],
    { compression: 'none' },
  );
  const entries = await readTarEntries(readFileSync(layout.blobPath(layer.digest)));
  assert.deepEqual(
    entries.map((e) => [e.header.name, e.header.mode]),
    [
      ['locked/', 0],
      ['secret', 0],
    ],
  );
});
