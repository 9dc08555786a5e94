// berth image import of hostile and broken archives (built with tar-stream around the single
// fixture): each is refused with an error naming what is wrong, and the store is left as it was —
// no blob, no image record, no snapshot, no ingest, no lease (test/harness/pull-check.ts).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DataLossError, InvalidArgumentError } from '../../src/errdefs/index.ts';
import { buildFixtures, type Fixtures } from '../harness/fixtures.ts';
import { assertUnchanged, pullSandbox, storeView, type TarSpec, tarOf } from '../harness/pull-check.ts';
import { needs } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = needs('busybox', 'mount', 'mknod', 'setfattr');
const hex = (digest: string) => digest.slice('sha256:'.length);

interface Parts {
  index: object;
  manifest: Buffer;
  manifestDigest: string;
  config: Buffer;
  configDigest: string;
  layer: Buffer;
  layerDigest: string;
}

/** The single fixture's documents and layer, to rearrange into hostile archives. */
function partsOf(fixtures: Fixtures): Parts {
  const f = fixtures.single;
  const blob = (digest: string) => readFileSync(join(f.layoutDir, 'blobs/sha256', hex(digest)));
  const layerDigest = f.layers[0]?.digest as string;
  return {
    index: {
      schemaVersion: 2,
      manifests: [{ ...f.manifest, annotations: { 'io.containerd.image.name': 'example.com/hostile:v1' } }],
    },
    manifest: blob(f.manifest.digest),
    manifestDigest: f.manifest.digest,
    config: blob(f.configDigest),
    configDigest: f.configDigest,
    layer: blob(layerDigest),
    layerDigest,
  };
}

function ociEntries(p: Parts, layer: Buffer = p.layer): TarSpec[] {
  return [
    { name: 'oci-layout', content: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
    { name: `blobs/sha256/${hex(p.layerDigest)}`, content: layer },
    { name: `blobs/sha256/${hex(p.configDigest)}`, content: p.config },
    { name: `blobs/sha256/${hex(p.manifestDigest)}`, content: p.manifest },
    { name: 'index.json', content: JSON.stringify(p.index) },
  ];
}

function dockerEntries(p: Parts, configPath: string, layer: Buffer): TarSpec[] {
  return [
    { name: 'layer.tar', content: layer },
    { name: `${hex(p.configDigest)}.json`, content: p.config },
    {
      name: 'manifest.json',
      content: JSON.stringify([{ Config: configPath, RepoTags: ['hostile:v1'], Layers: ['layer.tar'] }]),
    },
  ];
}

interface Case {
  what: string;
  entries: (p: Parts) => TarSpec[];
  error: typeof InvalidArgumentError | typeof DataLossError;
  message: RegExp;
}

const cases: Case[] = [
  {
    what: 'an entry named ../x',
    entries: (p) => [...ociEntries(p), { name: '../x', content: 'escape' }],
    error: InvalidArgumentError,
    message: /entry "\.\.\/x": name "\.\.\/x" points outside the archive/,
  },
  {
    what: 'an absolute entry name',
    entries: (p) => [{ name: '/etc/x', content: 'escape' }, ...ociEntries(p)],
    error: InvalidArgumentError,
    message: /absolute name "\/etc\/x" points outside the archive/,
  },
  {
    what: 'a symlink leading out of the archive',
    entries: (p) => [
      ...ociEntries(p).filter((e) => !e.name.includes(hex(p.layerDigest))),
      { name: `blobs/sha256/${hex(p.layerDigest)}`, type: 'symlink', linkname: '../../../etc/passwd' },
    ],
    error: InvalidArgumentError,
    message: /link blobs\/sha256\/[0-9a-f]{64} -> \.\.\/\.\.\/\.\.\/etc\/passwd points outside the archive/,
  },
  {
    what: 'a layer whose bytes do not match its digest',
    entries: (p) => {
      const bad = Buffer.from(p.layer);
      bad[bad.length - 100] = (bad[bad.length - 100] ?? 0) ^ 0xff;
      return ociEntries(p, bad);
    },
    error: DataLossError,
    message: /blobs\/sha256\/[0-9a-f]{64} is sha256:[0-9a-f]{64} \(\d+ bytes\), the archive says sha256:/,
  },
  {
    what: 'a manifest whose bytes do not match its digest',
    entries: (p) =>
      ociEntries({
        ...p,
        manifest: Buffer.from(p.manifest.toString().replace('"schemaVersion":2', '"schemaVersion": 2')),
      }),
    error: DataLossError,
    message: /manifest sha256:[0-9a-f]{64}: content is sha256:/,
  },
  {
    what: 'a docker manifest.json whose Config points outside',
    entries: (p) => dockerEntries(p, '../../etc/passwd', p.layer),
    error: InvalidArgumentError,
    message: /manifest\.json: image 0: Config: name "\.\.\/\.\.\/etc\/passwd" points outside the archive/,
  },
  {
    what: 'a docker layer that is not the config’s diff_id',
    entries: (p) => dockerEntries(p, `${hex(p.configDigest)}.json`, Buffer.alloc(10240)),
    error: DataLossError,
    message: /layer\.tar is sha256:[0-9a-f]{64} \(10240 bytes\), the archive says sha256:/,
  },
  {
    what: 'a device node entry',
    entries: (p) => [...ociEntries(p), { name: 'dev', type: 'character-device', devmajor: 1, devminor: 3 }],
    error: InvalidArgumentError,
    message: /a character-device entry has no place in an image archive/,
  },
];

describe('berth image import refuses hostile archives and changes nothing', { skip }, () => {
  const work = skip ? '' : tempDir({ after: (cleanup: () => void) => after(cleanup) }, 'archive-hostile');
  let built: Promise<Fixtures> | undefined;
  const getFixtures = () => {
    built ??= buildFixtures(work);
    return built;
  };

  for (const c of cases) {
    test(c.what, async (t) => {
      const parts = partsOf(await getFixtures());
      const sb = await pullSandbox(t);
      const file = join(sb.base, 'hostile.tar');
      writeFileSync(file, await tarOf(c.entries(parts)));
      const before = await storeView(sb);
      await assert.rejects(
        sb.s.images.import(file),
        (err: unknown) => err instanceof c.error && c.message.test(err.message),
      );
      await assertUnchanged(sb, before, { ingest: 'none' });
    });
  }

  test('the good archive these are made from imports (the cases fail for their reason only)', async (t) => {
    const parts = partsOf(await getFixtures());
    const sb = await pullSandbox(t);
    const file = join(sb.base, 'good.tar');
    writeFileSync(file, await tarOf(ociEntries(parts)));
    const [image] = await sb.s.images.import(file);
    assert.equal(image?.name, 'example.com/hostile:v1');
    assert.ok(image?.chainID !== undefined);
  });
});
