// Ingests across time in one process: resume after close, the per-ingest lock (held, waited for,
// stale when its owner is dead), two writers of one blob. Several processes: content-processes.test.ts.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ContentStore } from '../../src/content/index.ts';
import { AlreadyExistsError, UnavailableError } from '../../src/errdefs/index.ts';
import { tempDir } from '../harness/tmp.ts';

const execFileAsync = promisify(execFile);

const sha256 = (data: Uint8Array | string): string =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A blob big enough to be written in many chunks, with bytes that differ by position. */
function blob(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

const chunks = (data: Buffer, size: number): Buffer[] =>
  Array.from({ length: Math.ceil(data.byteLength / size) }, (_, i) =>
    data.subarray(i * size, (i + 1) * size),
  );

async function newStore(t: Parameters<typeof tempDir>[0]): Promise<ContentStore> {
  return ContentStore.create(join(tempDir(t, 'ingest'), 'content'));
}

/** No ingest, temp file or lock left anywhere in the store. */
function assertClean(store: ContentStore): void {
  assert.deepEqual(readdirSync(store.ingestRoot), []);
  assert.deepEqual(readdirSync(store.dir).sort(), ['blobs', 'index.json', 'ingest', 'oci-layout']);
}

test('close keeps the partial ingest; the next writer resumes at its offset and commits', async (t) => {
  const store = await newStore(t);
  const data = blob(100_000);
  const expected = { digest: sha256(data), size: data.byteLength };
  const first = await store.writer('layer-x', expected);
  await first.write(data.subarray(0, 40_000));
  await first.close();
  const [status] = await store.ingests();
  assert.equal(status?.ref, 'layer-x');
  assert.equal(status?.offset, 40_000);
  assert.deepEqual(status?.expected, expected);
  assert.ok(status?.startedAt instanceof Date);
  assert.equal(status?.lockedBy, undefined);

  await using second = await store.writer('layer-x', expected);
  assert.equal(second.offset, 40_000);
  assert.deepEqual(await buffer(second.readHeld()), data.subarray(0, 40_000));
  assert.equal((await store.ingests())[0]?.lockedBy, process.pid);
  await second.write(data.subarray(second.offset));
  await second.commit();
  assert.deepEqual(readFileSync(store.blobPath(expected.digest)), data);
  assertClean(store);
});

test('a ref reused for another blob starts over instead of resuming foreign bytes', async (t) => {
  const store = await newStore(t);
  const w = await store.writer('reused', { digest: sha256('old blob') });
  await w.write(Buffer.from('old '));
  await w.close();
  const data = Buffer.from('new blob');
  const again = await store.writer('reused', { digest: sha256(data) });
  assert.equal(again.offset, 0);
  assert.equal((await buffer(again.readHeld())).byteLength, 0);
  await again.write(data);
  await again.commit();
  assertClean(store);
});

test('a second writer of a held ref is Unavailable naming the pid, or waits with waitMs', async (t) => {
  const store = await newStore(t);
  const data = blob(10_000);
  const expected = { digest: sha256(data), size: data.byteLength };
  const holder = await store.writer('busy', expected);
  await holder.write(data.subarray(0, 1000));
  await assert.rejects(store.writer('busy', expected), (err: unknown) => {
    assert.ok(err instanceof UnavailableError);
    assert.match(err.message, new RegExp(`ingest "busy": locked by pid ${process.pid}`));
    return true;
  });
  const waiting = store.writer('busy', expected, { waitMs: 10_000 });
  setTimeout(() => void holder.close(), 100);
  const next = await waiting;
  assert.equal(next.offset, 1000, 'it resumes what the holder kept');
  await next.write(data.subarray(1000, 2000));
  // A waiter whose holder commits the blob finds it stored and skips.
  const skipper = store.writer('busy', expected, { waitMs: 10_000 });
  await next.write(data.subarray(2000));
  await next.commit();
  await assert.rejects(skipper, AlreadyExistsError);
  assertClean(store);
});

test("a lock whose owner process is dead is broken; a live owner's lock is kept", async (t) => {
  const store = await newStore(t);
  const w = await store.writer('orphan', { digest: sha256('abc') });
  await w.write(Buffer.from('ab'));
  await w.close();
  const dir = join(store.ingestRoot, readdirSync(store.ingestRoot)[0]!);
  // A pid that certainly ended: a child we ran to completion.
  const { stdout } = await execFileAsync(process.execPath, [
    '-e',
    'process.stdout.write(String(process.pid))',
  ]);
  writeFileSync(join(dir, 'lock'), `${stdout} 1\n`);
  assert.equal((await store.ingests())[0]?.lockedBy, undefined);
  const resumed = await store.writer('orphan', { digest: sha256('abc') });
  assert.equal(resumed.offset, 2);
  await resumed.write(Buffer.from('c'));
  await resumed.commit();
  assertClean(store);

  // pid 1 is alive: its lock stands (and abortIngest refuses too).
  const x = await store.writer('held', { digest: sha256('x') });
  await x.close();
  const heldDir = join(store.ingestRoot, readdirSync(store.ingestRoot)[0]!);
  writeFileSync(join(heldDir, 'lock'), '1 -\n');
  await assert.rejects(store.writer('held', { digest: sha256('x') }), /locked by pid 1/);
  await assert.rejects(store.abortIngest('held'), UnavailableError);
  writeFileSync(join(heldDir, 'lock'), `${stdout}\n`);
  await store.abortIngest('held');
  assertClean(store);
});

test('two writers of one blob in this process, different refs, interleaved: both commit', async (t) => {
  const store = await newStore(t);
  const data = blob(1 << 20);
  const expected = { digest: sha256(data), size: data.byteLength };
  const [a, b] = [await store.writer('one', expected), await store.writer('two', expected)];
  for (const c of chunks(data, 100_000)) await Promise.all([a.write(c), b.write(c)]);
  assert.deepEqual(await Promise.all([a.commit(), b.commit()]), [expected, expected]);
  assert.deepEqual(readFileSync(store.blobPath(expected.digest)), data);
  assertClean(store);
});
