import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { OciLayout } from '../../src/content/index.ts';
import {
  CanceledError,
  DataLossError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '../../src/errdefs/index.ts';
import { AnnotationRefName, type Descriptor, MediaType } from '../../src/oci/image/index.ts';
import { tempDir } from '../harness/tmp.ts';

const execFileAsync = promisify(execFile);

const sha256 = (data: Uint8Array | string): string =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Everything in the layout root: temp files would show up here. */
const rootNames = (layout: OciLayout): string[] => readdirSync(layout.dir).sort();

async function withManifest(layout: OciLayout, text: string): Promise<Descriptor> {
  const { digest, size } = await layout.writeBlob(Buffer.from(text));
  return { mediaType: MediaType.ociManifest, digest, size };
}

test('create writes oci-layout and an empty index; create again keeps the index', async (t) => {
  const dir = join(tempDir(t, 'layout'), 'img');
  const layout = await OciLayout.create(dir);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8')), {
    imageLayoutVersion: '1.0.0',
  });
  assert.deepEqual((await layout.readIndex()).manifests, []);
  await layout.addManifest(await withManifest(layout, '{"a":1}'), 'v1');
  const again = await OciLayout.create(dir);
  assert.equal((await again.readIndex()).manifests.length, 1);
  assert.deepEqual(rootNames(layout), ['blobs', 'index.json', 'oci-layout']);
});

test('open refuses a directory that is not a layout, or of another version', async (t) => {
  const dir = tempDir(t, 'layout');
  await assert.rejects(OciLayout.open(dir), NotFoundError);
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
  await assert.rejects(OciLayout.open(dir), FailedPreconditionError);
});

test('writeBlob stores bytes under blobs/sha256/<hex> and returns their digest and size', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'layout'));
  const data = Buffer.from('hello blob\n');
  const info = await layout.writeBlob(data);
  assert.deepEqual(info, { digest: sha256(data), size: data.byteLength });
  const path = layout.blobPath(info.digest);
  assert.equal(path, join(layout.dir, 'blobs', 'sha256', info.digest.slice(7)));
  assert.equal(sha256(readFileSync(path)), info.digest);
  // A second write of the same bytes succeeds and leaves no temp file behind.
  assert.deepEqual(await layout.writeBlob(data, info), info);
  assert.deepEqual(rootNames(layout), ['blobs', 'index.json', 'oci-layout']);
  assert.deepEqual(await layout.readBlob(info.digest), data);
  assert.deepEqual(await layout.blobInfo(info.digest), info);
});

test('writeBlob streams a Readable of many chunks and verifies an expected digest', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'layout'));
  const chunks = Array.from({ length: 200 }, (_, i) => Buffer.alloc(4096, i));
  const whole = Buffer.concat(chunks);
  const info = await layout.writeBlob(Readable.from(chunks), {
    digest: sha256(whole),
    size: whole.byteLength,
  });
  assert.equal(info.size, 200 * 4096);
  assert.deepEqual(readFileSync(layout.blobPath(info.digest)), whole);
});

test('writeBlob hashes with the algorithm of the expected digest (sha512)', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'layout'));
  const data = Buffer.from('sha512 content');
  const digest = `sha512:${createHash('sha512').update(data).digest('hex')}`;
  const info = await layout.writeBlob(data, { digest });
  assert.equal(info.digest, digest);
  assert.ok(layout.blobPath(digest).includes('/blobs/sha512/'));
  assert.deepEqual(await layout.readBlob(digest), data);
});

test('a blob that does not match its expected digest is DataLoss and leaves nothing behind', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'layout'));
  const expected = sha256('the real content');
  const corrupt = Buffer.from('corrupted content');
  await assert.rejects(layout.writeBlob(corrupt, { digest: expected }), (err: unknown) => {
    assert.ok(err instanceof DataLossError);
    assert.match(err.message, new RegExp(expected));
    assert.match(err.message, new RegExp(sha256(corrupt)));
    return true;
  });
  await assert.rejects(layout.blobInfo(expected), NotFoundError);
  await assert.rejects(layout.blobInfo(sha256(corrupt)), NotFoundError);
  assert.deepEqual(readdirSync(join(layout.dir, 'blobs')), []);
  assert.deepEqual(rootNames(layout), ['blobs', 'index.json', 'oci-layout']);
});

test('a stream longer than the expected size is stopped early and destroyed', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'layout'));
  let produced = 0;
  const source = new Readable({
    read() {
      produced += 1;
      this.push(Buffer.alloc(1024));
    },
  });
  await assert.rejects(layout.writeBlob(source, { digest: sha256('x'), size: 4096 }), DataLossError);
  assert.ok(source.destroyed);
  assert.ok(produced < 100, `read ${produced} chunks of an endless stream`);
  assert.deepEqual(rootNames(layout), ['blobs', 'index.json', 'oci-layout']);
});

test('malformed digests are InvalidArgument before they touch the filesystem', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'layout'));
  for (const bad of [
    'sha256:../../../etc/passwd',
    'sha256:ABC',
    'md5:abcd',
    'nocolon',
    `sha256:${'a'.repeat(63)}`,
  ]) {
    assert.throws(() => layout.blobPath(bad), InvalidArgumentError, bad);
    await assert.rejects(layout.readBlob(bad), InvalidArgumentError, bad);
    await assert.rejects(layout.writeBlob(Buffer.from('x'), { digest: bad }), InvalidArgumentError, bad);
  }
  assert.deepEqual(rootNames(layout), ['blobs', 'index.json', 'oci-layout']);
});

test('readBlob verifies the stored bytes: NotFound when absent, DataLoss when changed on disk', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'layout'));
  await assert.rejects(layout.readBlob(sha256('absent')), NotFoundError);
  const { digest } = await layout.writeBlob(Buffer.from('original'));
  writeFileSync(layout.blobPath(digest), 'tampered');
  await assert.rejects(layout.readBlob(digest), DataLossError);
});

test('an aborted signal cancels writeBlob and removes its temp file', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'layout'));
  const controller = new AbortController();
  const source = new Readable({
    read() {
      this.push(Buffer.alloc(1024));
      controller.abort();
    },
  });
  await assert.rejects(layout.writeBlob(source, undefined, { signal: controller.signal }), CanceledError);
  assert.deepEqual(rootNames(layout), ['blobs', 'index.json', 'oci-layout']);
});

test('addManifest names the descriptor, replaces the same name in place, keeps other names', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'layout'));
  const one = await withManifest(layout, '{"one":1}');
  const two = await withManifest(layout, '{"two":2}');
  const three = await withManifest(layout, '{"three":3}');
  await layout.addManifest(one, 'latest');
  await layout.addManifest({ ...two, annotations: { keep: 'me' } }, 'v2');
  await layout.addManifest(three, 'latest');
  const index = await layout.readIndex();
  assert.equal(index.schemaVersion, 2);
  assert.deepEqual(
    index.manifests.map((d) => [d.digest, d.annotations?.[AnnotationRefName]]),
    [
      [three.digest, 'latest'],
      [two.digest, 'v2'],
    ],
  );
  assert.equal(index.manifests[1]?.annotations?.keep, 'me');
  assert.equal((await layout.resolve('v2')).digest, two.digest);
  await assert.rejects(layout.resolve('nope'), NotFoundError);
  // index.json on disk is the same document (no stray temp or lock files).
  assert.deepEqual(JSON.parse(readFileSync(join(layout.dir, 'index.json'), 'utf8')), index);
  assert.deepEqual(rootNames(layout), ['blobs', 'index.json', 'oci-layout']);
});

test('addManifest refuses a blob that is missing or of another size', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'layout'));
  await assert.rejects(
    layout.addManifest({ mediaType: MediaType.ociManifest, digest: sha256('absent'), size: 6 }, 'x'),
    FailedPreconditionError,
  );
  const desc = await withManifest(layout, '{}');
  await assert.rejects(layout.addManifest({ ...desc, size: desc.size + 1 }, 'x'), DataLossError);
  await assert.rejects(layout.addManifest(desc, ''), InvalidArgumentError);
  assert.deepEqual((await layout.readIndex()).manifests, []);
});

test('concurrent addManifest calls lose no entry (the lock serialises read-modify-write)', async (t) => {
  const dir = tempDir(t, 'layout');
  const layout = await OciLayout.create(dir);
  const descs = await Promise.all(Array.from({ length: 25 }, (_, i) => withManifest(layout, `{"n":${i}}`)));
  // Separate OciLayout objects, as separate processes would have.
  await Promise.all(descs.map(async (d, i) => (await OciLayout.open(dir)).addManifest(d, `tag-${i}`)));
  const names = (await layout.readIndex()).manifests.map((d) => d.annotations?.[AnnotationRefName]).sort();
  assert.deepEqual(names, descs.map((_, i) => `tag-${i}`).sort());
  assert.deepEqual(rootNames(layout), ['blobs', 'index.json', 'oci-layout']);
});

test('writers in separate processes lose no entry (the lock file arbitrates)', async (t) => {
  const dir = tempDir(t, 'layout');
  const layout = await OciLayout.create(dir);
  const procs = 3;
  const perProc = 6;
  const descs = await Promise.all(
    Array.from({ length: procs * perProc }, (_, i) => withManifest(layout, `{"proc":${i}}`)),
  );
  const script = `
    import { OciLayout } from ${JSON.stringify(new URL('../../src/content/index.ts', import.meta.url).href)};
    const [dir, json] = process.argv.slice(1);
    const layout = await OciLayout.open(dir);
    await Promise.all(JSON.parse(json).map(([d, tag]) => layout.addManifest(d, tag)));
  `;
  const children = Array.from({ length: procs }, (_, p) => {
    const mine = descs.slice(p * perProc, (p + 1) * perProc).map((d, i) => [d, `p${p}-${i}`]);
    return execFileAsync(process.execPath, ['--input-type=module', '-e', script, dir, JSON.stringify(mine)]);
  });
  await Promise.all(children);
  const names = (await layout.readIndex()).manifests.map((d) => d.annotations?.[AnnotationRefName]);
  assert.equal(names.length, procs * perProc);
  assert.equal(new Set(names).size, procs * perProc);
  assert.deepEqual(rootNames(layout), ['blobs', 'index.json', 'oci-layout']);
});

test('a stale lock file is broken; a fresh one is waited for until the signal aborts', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'layout'));
  const desc = await withManifest(layout, '{}');
  const lock = join(layout.dir, 'index.json.lock');
  writeFileSync(lock, '99999\n');
  const old = new Date(Date.now() - 120_000);
  utimesSync(lock, old, old);
  await layout.addManifest(desc, 'after-stale');
  assert.equal((await layout.resolve('after-stale')).digest, desc.digest);
  assert.deepEqual(rootNames(layout), ['blobs', 'index.json', 'oci-layout']);

  writeFileSync(lock, '99999\n');
  await assert.rejects(
    layout.addManifest(desc, 'blocked', { signal: AbortSignal.timeout(100) }),
    CanceledError,
  );
  assert.equal(readFileSync(lock, 'utf8'), '99999\n', 'the other writer keeps its lock');
  await assert.rejects(layout.resolve('blocked'), NotFoundError);

  // A writer queued behind another one in this process is canceled as soon as its signal aborts.
  const order: string[] = [];
  const first = layout
    .addManifest(desc, 'first', { signal: AbortSignal.timeout(400) })
    .catch((err: unknown) => {
      order.push('first');
      throw err;
    });
  const second = layout
    .addManifest(desc, 'second', { signal: AbortSignal.timeout(30) })
    .catch((err: unknown) => {
      order.push('second');
      throw err;
    });
  await assert.rejects(second, CanceledError);
  await assert.rejects(first, CanceledError);
  assert.deepEqual(order, ['second', 'first']);
});

test('readIndex reports a corrupt index.json as DataLoss', async (t) => {
  const layout = await OciLayout.create(tempDir(t, 'layout'));
  writeFileSync(join(layout.dir, 'index.json'), '{"schemaVersion":2,');
  await assert.rejects(layout.readIndex(), DataLossError);
  writeFileSync(join(layout.dir, 'index.json'), '{"schemaVersion":1,"manifests":[]}');
  await assert.rejects(layout.readIndex(), DataLossError);
});
