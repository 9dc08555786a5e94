import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../../src/errdefs/index.ts';
import { openMetadata } from '../../src/metadata/index.ts';
import { tempDir } from '../harness/tmp.ts';

const busybox = 'docker.io/library/busybox:latest';
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const index = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: digest('a'), size: 1609 };
const manifest = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest('b'), size: 610 };

function open(t: Parameters<typeof tempDir>[0]) {
  return openMetadata(tempDir(t, 'metadata-images'));
}

test('create then get returns the record with both times set', (t) => {
  using m = open(t);
  const created = m.images.create({ name: busybox, target: index, labels: { 'io.cri.pinned': 'true' } });
  assert.equal(created.name, busybox);
  assert.deepEqual(created.target, index);
  assert.deepEqual(created.labels, { 'io.cri.pinned': 'true' });
  assert.match(created.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(created.updated, created.created);
  assert.deepEqual(m.images.get(busybox), created);
});

test('annotations round-trip; other descriptor fields are not kept', (t) => {
  using m = open(t);
  const target = { ...index, annotations: { 'org.opencontainers.image.ref.name': 'latest' } };
  m.images.create({ name: busybox, target: { ...target, urls: ['https://x'] } as typeof target });
  assert.deepEqual(m.images.get(busybox).target, target);
});

test('create of an existing name is AlreadyExists naming the image', (t) => {
  using m = open(t);
  m.images.create({ name: busybox, target: index });
  assert.throws(() => m.images.create({ name: busybox, target: manifest }), {
    name: 'AlreadyExistsError',
    message: `image "${busybox}": already exists`,
  });
  assert.throws(() => m.images.create({ name: busybox, target: manifest }), AlreadyExistsError);
  assert.deepEqual(m.images.get(busybox).target, index);
});

test('get, update and delete of a missing image are NotFound naming it', (t) => {
  using m = open(t);
  const message = `image "${busybox}": not found`;
  assert.throws(() => m.images.get(busybox), { name: 'NotFoundError', message });
  assert.throws(() => m.images.update(busybox, { labels: {} }), { name: 'NotFoundError', message });
  assert.throws(() => m.images.delete(busybox), NotFoundError);
  assert.equal(m.images.deleteIfExists(busybox), false);
});

test('update replaces only the given fields and moves `updated`', async (t) => {
  using m = open(t);
  const first = m.images.create({
    name: busybox,
    target: { ...index, annotations: { a: '1' } },
    labels: { x: '1' },
  });
  await sleep(3);
  const relabelled = m.images.update(busybox, { labels: { y: '2' } });
  assert.deepEqual(relabelled.target, first.target);
  assert.deepEqual(relabelled.labels, { y: '2' });
  assert.equal(relabelled.created, first.created);
  assert.ok(relabelled.updated > first.updated);
  const retargeted = m.images.update(busybox, { target: manifest });
  assert.deepEqual(retargeted.target, manifest); // annotations went with the old target
  assert.deepEqual(retargeted.labels, { y: '2' });
});

test('put creates, then replaces the target keeping `created` and, without labels, the labels', async (t) => {
  using m = open(t);
  const a = m.images.put({ name: busybox, target: index, labels: { keep: 'me' } });
  await sleep(3);
  const b = m.images.put({ name: busybox, target: manifest });
  assert.equal(b.created, a.created);
  assert.ok(b.updated > a.updated);
  assert.deepEqual(b.target, manifest);
  assert.deepEqual(b.labels, { keep: 'me' });
  assert.deepEqual(m.images.put({ name: busybox, target: manifest, labels: {} }).labels, {});
});

test('delete removes the row', (t) => {
  using m = open(t);
  m.images.create({ name: busybox, target: index });
  m.images.delete(busybox);
  assert.throws(() => m.images.get(busybox), NotFoundError);
  m.images.create({ name: busybox, target: index });
  assert.equal(m.images.deleteIfExists(busybox), true);
  assert.deepEqual(m.images.list(), []);
});

test('list filters by name prefix, digest and labels, sorted by name', (t) => {
  using m = open(t);
  m.images.create({
    name: 'docker.io/library/busybox:1.36',
    target: index,
    labels: { env: 'prod', team: 'a' },
  });
  m.images.create({ name: busybox, target: index, labels: { env: 'dev' } });
  m.images.create({ name: 'quay.io/x/y:1', target: manifest, labels: { env: 'prod', 'a.b"c': 'q' } });
  m.images.create({ name: 'docker.io/library/busybox_other:1', target: manifest });
  const names = (f?: Parameters<typeof m.images.list>[0]) => m.images.list(f).map((i) => i.name);
  assert.deepEqual(names(), [
    'docker.io/library/busybox:1.36',
    busybox,
    'docker.io/library/busybox_other:1',
    'quay.io/x/y:1',
  ]);
  assert.deepEqual(names({ namePrefix: 'docker.io/library/busybox:' }), [
    'docker.io/library/busybox:1.36',
    busybox,
  ]);
  // Prefix matching is literal: '_' and '%' are not LIKE wildcards here.
  assert.deepEqual(names({ namePrefix: 'docker.io/library/busybox_' }), [
    'docker.io/library/busybox_other:1',
  ]);
  assert.deepEqual(names({ digest: manifest.digest }), [
    'docker.io/library/busybox_other:1',
    'quay.io/x/y:1',
  ]);
  assert.deepEqual(names({ labels: { env: 'prod' } }), ['docker.io/library/busybox:1.36', 'quay.io/x/y:1']);
  assert.deepEqual(names({ labels: { env: 'prod', team: 'a' } }), ['docker.io/library/busybox:1.36']);
  assert.deepEqual(names({ labels: { 'a.b"c': 'q' } }), ['quay.io/x/y:1']);
  assert.deepEqual(names({ namePrefix: 'quay.io/', digest: index.digest }), []);
});

test('invalid input is InvalidArgument naming the image', (t) => {
  using m = open(t);
  const bad: [Parameters<typeof m.images.create>[0], RegExp][] = [
    [{ name: '', target: index }, /name is empty/],
    [{ name: busybox, target: { ...index, digest: 'sha256:../../etc' } }, /image "docker.io.*target digest/],
    [{ name: busybox, target: { ...index, size: -1 } }, /size -1/],
    [{ name: busybox, target: { ...index, mediaType: '' } }, /media type is empty/],
    [{ name: busybox, target: index, labels: { '': 'x' } }, /label key is empty/],
    [{ name: busybox, target: index, labels: { k: 'v'.repeat(5000) } }, /longer than 4096/],
    [
      { name: busybox, target: index, labels: { k: 1 } as unknown as Record<string, string> },
      /object of strings/,
    ],
  ];
  for (const [image, message] of bad) {
    assert.throws(
      () => m.images.create(image),
      (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError, String(err));
        assert.match(err.message, message);
        return true;
      },
    );
  }
  assert.deepEqual(m.images.list(), []);
});
