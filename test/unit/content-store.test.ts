// The content store's Provider, Ingester, Manager and ImageIndex roles in one process. Ingest
// resume, locks and several processes: content-ingest.test.ts.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { test } from 'node:test';
import { ContentStore, OciLayout } from '../../src/content/index.ts';
import {
  AlreadyExistsError,
  DataLossError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
} from '../../src/errdefs/index.ts';
import { AnnotationRefName, MediaType } from '../../src/oci/image/index.ts';
import { tempDir } from '../harness/tmp.ts';

const sha256 = (data: Uint8Array | string): string =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** The store directory's top-level names: a leftover temp or lock file would show up here. */
const topNames = (store: ContentStore): string[] => readdirSync(store.dir).sort();
const ingestNames = (store: ContentStore): string[] => readdirSync(store.ingestRoot);

async function newStore(t: Parameters<typeof tempDir>[0]): Promise<ContentStore> {
  return ContentStore.create(join(tempDir(t, 'content'), 'content'));
}

async function put(store: ContentStore, data: string | Buffer, ref = 'r'): Promise<string> {
  const digest = sha256(data);
  const w = await store.writer(ref, { digest, size: Buffer.byteLength(data) });
  await w.write(Buffer.from(data));
  await w.commit();
  return digest;
}

test('the store is an OCI image layout with an ingest directory', async (t) => {
  const store = await newStore(t);
  assert.deepEqual(topNames(store), ['blobs', 'index.json', 'ingest', 'oci-layout']);
  assert.equal((await OciLayout.open(store.dir)).dir, store.dir);
  assert.equal((await ContentStore.open(store.dir)).dir, store.dir);
  await assert.rejects(ContentStore.open(tempDir(t, 'empty')), NotFoundError);
});

test('a writer hashes while writing; commit verifies and publishes the blob', async (t) => {
  const store = await newStore(t);
  const data = Buffer.from('hello, content store\n');
  const digest = sha256(data);
  const w = await store.writer('layer-1', { digest, size: data.byteLength });
  assert.equal(w.offset, 0);
  await w.write(data.subarray(0, 5));
  await w.write(data.subarray(5));
  assert.equal(w.offset, data.byteLength);
  assert.deepEqual(await w.commit(), { digest, size: data.byteLength });
  assert.deepEqual(readFileSync(join(store.dir, 'blobs', 'sha256', digest.slice(7))), data);
  assert.deepEqual(ingestNames(store), [], 'the ingest is gone after commit');
  await assert.rejects(w.write(data), FailedPreconditionError, 'a committed writer is finished');
  const info = await store.info(digest);
  assert.equal(info.size, data.byteLength);
  assert.ok(info.createdAt instanceof Date);
  // The blob exists now: a new writer is refused and the caller skips the download.
  await assert.rejects(store.writer('layer-1', { digest }), AlreadyExistsError);
});

test('a wrong digest is DataLoss naming both digests, and leaves no blob and no ingest', async (t) => {
  const store = await newStore(t);
  const expected = sha256('the real bytes');
  const got = Buffer.from('other bytes!!!');
  const w = await store.writer('bad', { digest: expected, size: got.byteLength });
  await w.write(got);
  await assert.rejects(w.commit(), (err: unknown) => {
    assert.ok(err instanceof DataLossError);
    assert.match(err.message, new RegExp(expected));
    assert.match(err.message, new RegExp(sha256(got)));
    return true;
  });
  await assert.rejects(store.info(expected), NotFoundError);
  await assert.rejects(store.info(sha256(got)), NotFoundError);
  assert.deepEqual(ingestNames(store), []);
  assert.deepEqual(await store.ingests(), []);
  assert.deepEqual(topNames(store), ['blobs', 'index.json', 'ingest', 'oci-layout']);
});

test('a size short of the expected one fails commit; more bytes than expected fail the write early', async (t) => {
  const store = await newStore(t);
  const data = Buffer.alloc(4096, 7);
  const short = await store.writer('short', { digest: sha256(data), size: data.byteLength });
  await short.write(data.subarray(0, 100));
  await assert.rejects(short.commit(), DataLossError);

  const over = await store.writer('over', { digest: sha256(data), size: data.byteLength });
  await over.write(data);
  await assert.rejects(over.write(Buffer.alloc(1)), /more than the expected 4096 bytes/);
  await assert.rejects(over.commit(), FailedPreconditionError, 'the overrun ended the writer');
  assert.deepEqual(ingestNames(store), []);
  await assert.rejects(store.info(sha256(data)), NotFoundError);
});

test('abort deletes the ingest; bad refs, digests and sizes are InvalidArgument', async (t) => {
  const store = await newStore(t);
  const w = await store.writer('to-abort', { digest: sha256('x') });
  await w.write(Buffer.from('partial'));
  assert.equal((await store.ingests()).length, 1);
  await w.abort();
  assert.deepEqual(await store.ingests(), []);
  await assert.rejects(store.writer('', { digest: sha256('x') }), InvalidArgumentError);
  await assert.rejects(store.writer('r', { digest: 'sha256:../../etc' }), InvalidArgumentError);
  await assert.rejects(store.writer('r', { digest: sha256('x'), size: -1 }), InvalidArgumentError);
  assert.deepEqual(ingestNames(store), []);
});

test('writeBlob makes the store a BlobWriter (one-shot, verified)', async (t) => {
  const store = await newStore(t);
  const data = Buffer.from('{"built":true}');
  assert.deepEqual(await store.writeBlob(Readable.from([data])), {
    digest: sha256(data),
    size: data.byteLength,
  });
  await assert.rejects(store.writeBlob(data, { digest: sha256('other') }), DataLossError);
  assert.deepEqual(topNames(store), ['blobs', 'index.json', 'ingest', 'oci-layout']);
});

test('readStream from an offset; readBytes refuses a blob over its limit before reading it', async (t) => {
  const store = await newStore(t);
  const digest = await put(store, '0123456789');
  assert.equal(await text(await store.readStream(digest)), '0123456789');
  assert.equal(await text(await store.readStream(digest, { offset: 4 })), '456789');
  assert.equal(await text(await store.readStream(digest, { offset: 10 })), '');
  await assert.rejects(store.readStream(digest, { offset: 11 }), InvalidArgumentError);
  await assert.rejects(store.readStream(sha256('absent')), NotFoundError);

  assert.equal((await store.readBytes(digest, 10)).toString(), '0123456789');
  await assert.rejects(store.readBytes(digest, 9), (err: unknown) => {
    assert.ok(err instanceof ResourceExhaustedError);
    assert.match(err.message, new RegExp(`${digest}: 10 bytes, more than the limit of 9`));
    return true;
  });
  writeFileSync(store.blobPath(digest), '0123456780');
  await assert.rejects(store.readBytes(digest, 10), DataLossError);
});

test('list walks every blob; verify re-hashes and reports the one with a flipped byte', async (t) => {
  const store = await newStore(t);
  const digests = [
    await put(store, 'one'),
    await put(store, 'two'),
    await put(store, Buffer.alloc(70_000, 1)),
  ];
  writeFileSync(join(store.dir, 'blobs', 'sha256', 'not-a-digest'), 'ignored');
  const listed = await store.list();
  assert.deepEqual(listed.map((i) => i.digest).sort(), [...digests].sort());
  assert.equal(listed.find((i) => i.digest === digests[2])?.size, 70_000);
  assert.deepEqual(await store.verify(), { checked: 3, corrupt: [] });

  const path = store.blobPath(digests[2]!);
  const bytes = readFileSync(path);
  bytes[12_345] = bytes[12_345]! ^ 0x01;
  writeFileSync(path, bytes);
  const report = await store.verify();
  assert.equal(report.checked, 3);
  assert.deepEqual(report.corrupt, [{ digest: digests[2], size: 70_000, actual: sha256(bytes) }]);
});

test('delete removes a blob; NotFound when absent; refused while an image names it', async (t) => {
  const store = await newStore(t);
  const loose = await put(store, 'loose');
  await store.delete(loose);
  await assert.rejects(store.info(loose), NotFoundError);
  await assert.rejects(store.delete(loose), NotFoundError);

  const manifest = await put(store, '{"schemaVersion":2}');
  await store.setImage('example.com/app:v1', {
    mediaType: MediaType.ociManifest,
    digest: manifest,
    size: 19,
  });
  await assert.rejects(store.delete(manifest), /image "example.com\/app:v1" points to it/);
  await store.removeImage('example.com/app:v1');
  await store.delete(manifest);
  assert.deepEqual(await store.list(), []);
});

test('setImage, removeImage and images keep index.json in step, named by the full image name', async (t) => {
  const store = await newStore(t);
  const a = await put(store, '{"a":1}');
  const b = await put(store, '{"b":2}');
  const desc = (digest: string) => ({ mediaType: MediaType.ociManifest, digest, size: 7 });
  await store.setImage('127.0.0.1:5000/foo:latest', desc(a));
  await store.setImage('docker.io/library/busybox:1.36', desc(b));
  await store.setImage('127.0.0.1:5000/foo:latest', desc(b));
  const images = await store.images();
  assert.deepEqual(
    images.map((i) => [i.name, i.descriptor.digest]),
    [
      ['127.0.0.1:5000/foo:latest', b],
      ['docker.io/library/busybox:1.36', b],
    ],
  );
  const index = JSON.parse(readFileSync(join(store.dir, 'index.json'), 'utf8')) as {
    manifests: { annotations: Record<string, string> }[];
  };
  assert.equal(index.manifests[0]?.annotations[AnnotationRefName], '127.0.0.1:5000/foo:latest');
  await store.removeImage('127.0.0.1:5000/foo:latest');
  await assert.rejects(store.removeImage('127.0.0.1:5000/foo:latest'), NotFoundError);
  await assert.rejects(store.setImage('x', desc(sha256('absent'))), FailedPreconditionError);
  assert.deepEqual(
    (await store.images()).map((i) => i.name),
    ['docker.io/library/busybox:1.36'],
  );
  assert.deepEqual(topNames(store), ['blobs', 'index.json', 'ingest', 'oci-layout']);
});
