// Several processes (CLI invocations and the daemon) share one metadata.db. These tests run real
// processes against one file: SQLite's locking is per process, so threads or one connection would not
// show the contention.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { openMetadata } from '../../src/metadata/index.ts';
import { tempDir } from '../harness/tmp.ts';

const workers = 4;
const perWorker = 400;
const script = new URL('./fixtures-metadata/put-images.ts', import.meta.url).pathname;

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      err += s;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`worker ${args[1]} exited with ${code ?? signal}: ${err}`));
    });
  });
}

test(`${workers} processes writing one fresh database concurrently lose nothing`, async (t) => {
  const root = tempDir(t, 'metadata-mp');
  // Every child starts writing at the same instant, after Node has started, so that they also race on
  // creating the schema of the fresh file.
  const startAt = String(Date.now() + 1500);
  const outputs = await Promise.all(
    Array.from({ length: workers }, (_, w) => run([root, String(w), String(perWorker), startAt])),
  );
  for (const out of outputs) {
    const r = JSON.parse(out) as { worker: number; puts: number; ms: number };
    t.diagnostic(`worker ${r.worker}: ${r.puts} writes in ${r.ms.toFixed(0)} ms (contended)`);
  }

  using m = openMetadata(root);
  const all = m.images.list();
  const perWorkerRows = perWorker + perWorker / 10; // app:i and app:i-tx for every 10th i
  assert.equal(all.length, workers * perWorkerRows + 50);
  for (let w = 0; w < workers; w++) {
    const mine = m.images.list({ namePrefix: `registry.example/w${w}/` });
    assert.equal(mine.length, perWorkerRows);
    assert.equal(
      m.images.list({ namePrefix: `registry.example/w${w}/`, labels: { worker: String(w) } }).length,
      200,
    );
    assert.deepEqual(m.images.get(`registry.example/w${w}/app:7`).target.size, 7);
  }
  assert.deepEqual(m.leases.list(), []);
  assert.equal(m.content.list().length, perWorker / 10);

  const db = new DatabaseSync(m.path, { readOnly: true });
  t.after(() => db.close());
  assert.deepEqual(
    db
      .prepare('PRAGMA integrity_check')
      .all()
      .map((r) => r.integrity_check),
    ['ok'],
  );
  assert.equal(db.prepare('PRAGMA foreign_key_check').all().length, 0);
});

test('throughput: image puts per second from one process', (t) => {
  using m = openMetadata(tempDir(t, 'metadata-bench'));
  const target = (i: number) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${i.toString(16).padStart(64, '0')}`,
    size: i,
  });
  const n = 5000;
  let started = performance.now();
  for (let i = 0; i < n; i++) m.images.put({ name: `registry.example/bench/app:${i}`, target: target(i) });
  const single = n / ((performance.now() - started) / 1000);
  started = performance.now();
  m.transaction(() => {
    for (let i = 0; i < n; i++) m.images.put({ name: `registry.example/bench/tx:${i}`, target: target(i) });
  });
  const batched = n / ((performance.now() - started) / 1000);
  t.diagnostic(`${Math.round(single)} puts/s, one transaction each (WAL, synchronous=NORMAL)`);
  t.diagnostic(`${Math.round(batched)} puts/s, ${n} in one transaction`);
  assert.equal(m.images.list().length, 2 * n);
  // A floor far below what any machine does, to catch an accidental fsync per statement.
  assert.ok(single > 500, `${single} puts/s`);
});
