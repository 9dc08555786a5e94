// The content store shared by real processes: a writer SIGKILLed half-way and resumed, concurrent
// writers of one blob (own refs or one ref), index.json updated by two processes at once.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ContentStore } from '../../src/content/index.ts';
import { AlreadyExistsError } from '../../src/errdefs/index.ts';
import { MediaType } from '../../src/oci/image/index.ts';
import { tempDir } from '../harness/tmp.ts';

const execFileAsync = promisify(execFile);
const storeUrl = JSON.stringify(new URL('../../src/content/index.ts', import.meta.url).href);

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

test('a writer SIGKILLed half-way leaves a partial ingest that the next writer resumes', async (t) => {
  const store = await newStore(t);
  const data = blob(3 << 20);
  const expected = { digest: sha256(data), size: data.byteLength };
  const half = data.byteLength / 2;
  // The child writes the first half from the same deterministic bytes, says so, then hangs.
  const script = `
    import { ContentStore } from ${storeUrl};
    const [dir, json, half] = process.argv.slice(1);
    const size = ${data.byteLength};
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >> 8)) & 0xff;
    const store = await ContentStore.open(dir);
    const w = await store.writer('layer-killed', JSON.parse(json));
    for (let at = 0; at < Number(half); at += 65536) await w.write(data.subarray(at, Math.min(at + 65536, Number(half))));
    process.stdout.write('half\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', script, store.dir, JSON.stringify(expected), String(half)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (s: Buffer) => (s.toString().includes('half') ? resolve() : undefined));
    child.on('exit', (code) => reject(new Error(`child exited with ${code} before writing half`)));
  });
  const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');

  const [status] = await store.ingests();
  assert.equal(status?.offset, half);
  assert.equal(status?.lockedBy, undefined, 'its owner is dead');
  const w = await store.writer('layer-killed', expected);
  assert.equal(w.offset, half);
  for (const c of chunks(data.subarray(w.offset), 1 << 20)) await w.write(c);
  assert.deepEqual(await w.commit(), expected);
  assert.deepEqual(readFileSync(store.blobPath(expected.digest)), data);
  assertClean(store);
});

/** Runs `procs` children that each write `data` through their own or a shared ref. */
async function writeFromProcesses(store: ContentStore, data: Buffer, refs: string[]): Promise<string[]> {
  const script = `
    import { ContentStore } from ${storeUrl};
    const [dir, ref, file, json, startAt] = process.argv.slice(1);
    const { readFileSync } = await import('node:fs');
    const data = readFileSync(file);
    const store = await ContentStore.open(dir);
    // All children start at the same instant, after Node has started, so that they really race.
    await new Promise((r) => setTimeout(r, Number(startAt) - Date.now()));
    try {
      const w = await store.writer(ref, JSON.parse(json), { waitMs: 30000 });
      for (let at = w.offset; at < data.length; at += 65536) await w.write(data.subarray(at, at + 65536));
      await w.commit();
      process.stdout.write('committed');
    } catch (err) {
      if (err.code !== 'AlreadyExists') throw err;
      process.stdout.write('skipped');
    }
  `;
  const file = join(store.dir, '..', 'source');
  writeFileSync(file, data);
  const expected = JSON.stringify({ digest: sha256(data), size: data.byteLength });
  const startAt = String(Date.now() + 1000);
  const results = await Promise.all(
    refs.map((ref) =>
      execFileAsync(process.execPath, [
        '--input-type=module',
        '-e',
        script,
        store.dir,
        ref,
        file,
        expected,
        startAt,
      ]),
    ),
  );
  return results.map((r) => r.stdout);
}

test('processes writing one blob through different refs: all succeed, one blob, no leftovers', async (t) => {
  const store = await newStore(t);
  const data = blob(4 << 20);
  const outcomes = await writeFromProcesses(store, data, ['a', 'b', 'c']);
  t.diagnostic(`outcomes: ${outcomes.join(', ')}`);
  // Each either committed (the later ones find the blob linked and succeed) or found it stored.
  assert.ok(
    outcomes.every((o) => o === 'committed' || o === 'skipped'),
    outcomes.join(),
  );
  assert.ok(outcomes.includes('committed'));
  assert.deepEqual(await store.list().then((l) => l.map((i) => i.digest)), [sha256(data)]);
  assert.deepEqual(readFileSync(store.blobPath(sha256(data))), data);
  assertClean(store);
});

test('processes writing one blob through the same ref: one commits, the others skip', async (t) => {
  const store = await newStore(t);
  const data = blob(4 << 20);
  const outcomes = await writeFromProcesses(store, data, ['same', 'same', 'same']);
  t.diagnostic(`outcomes: ${outcomes.join(', ')}`);
  assert.equal(outcomes.filter((o) => o === 'committed').length, 1, outcomes.join());
  assert.equal(outcomes.filter((o) => o === 'skipped').length, 2, outcomes.join());
  assert.deepEqual(readFileSync(store.blobPath(sha256(data))), data);
  await assert.rejects(store.writer('same', { digest: sha256(data) }), AlreadyExistsError);
  assertClean(store);
});

test('two processes adding images at once: every image appears in index.json', async (t) => {
  const store = await newStore(t);
  const descs = await Promise.all(
    Array.from({ length: 12 }, async (_, i) => {
      const { digest, size } = await store.writeBlob(Buffer.from(`{"n":${i}}`));
      return { mediaType: MediaType.ociManifest, digest, size };
    }),
  );
  const script = `
    import { ContentStore } from ${storeUrl};
    const [dir, json] = process.argv.slice(1);
    const store = await ContentStore.open(dir);
    await Promise.all(JSON.parse(json).map(([name, d]) => store.setImage(name, d)));
  `;
  await Promise.all(
    [0, 1].map((p) => {
      const mine = descs.slice(p * 6, p * 6 + 6).map((d, i) => [`127.0.0.1:5000/p${p}/img:${i}`, d]);
      return execFileAsync(process.execPath, [
        '--input-type=module',
        '-e',
        script,
        store.dir,
        JSON.stringify(mine),
      ]);
    }),
  );
  const names = (await store.images()).map((i) => i.name);
  assert.equal(names.length, 12);
  assert.equal(new Set(names).size, 12);
  assertClean(store);
});
