import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../src/errdefs/index.ts';
import { gcRefContentPrefix, openMetadata } from '../../src/metadata/index.ts';
import { tempDir } from '../harness/tmp.ts';

const digest = (c: string) => `sha256:${c.repeat(64)}`;

function open(t: Parameters<typeof tempDir>[0]) {
  return openMetadata(tempDir(t, 'metadata-content'));
}

test('content labels: set, update, get, find, list, delete', (t) => {
  using m = open(t);
  const manifest = digest('e');
  const config = digest('c');
  const layer = digest('f');
  const c = m.content;
  assert.deepEqual(c.get(manifest), {});
  c.set(manifest, { [`${gcRefContentPrefix}.config`]: config, [`${gcRefContentPrefix}.l.0`]: layer });
  c.set(config, { 'berth.io/kind': 'config' });
  assert.deepEqual(c.get(manifest), {
    'containerd.io/gc.ref.content.config': config,
    'containerd.io/gc.ref.content.l.0': layer,
  });
  assert.deepEqual(c.update(manifest, { [`${gcRefContentPrefix}.config`]: null, 'berth.io/x': 'y' }), {
    'berth.io/x': 'y',
    'containerd.io/gc.ref.content.l.0': layer,
  });
  assert.deepEqual(c.find({ keyPrefix: gcRefContentPrefix, value: layer }), [
    { digest: manifest, key: 'containerd.io/gc.ref.content.l.0', value: layer },
  ]);
  assert.deepEqual(
    c.find({ keyPrefix: 'berth.io/' }).map((x) => x.digest),
    [config, manifest].sort(),
  );
  assert.deepEqual(
    c.list().map((x) => x.digest),
    [config, manifest].sort(),
  );
  c.set(manifest, {});
  assert.deepEqual(c.get(manifest), {});
  c.delete(config);
  c.delete(config);
  assert.deepEqual(c.list(), []);
  assert.throws(() => c.set('sha256:nope', {}), InvalidArgumentError);
  assert.throws(() => c.update(manifest, { '': 'x' }), InvalidArgumentError);
});

test('a set with an invalid label changes nothing', (t) => {
  using m = open(t);
  const d = digest('d');
  m.content.set(d, { keep: '1' });
  assert.throws(() => m.content.set(d, { ok: '1', bad: 1 as unknown as string }), InvalidArgumentError);
  assert.deepEqual(m.content.get(d), { keep: '1' });
});
