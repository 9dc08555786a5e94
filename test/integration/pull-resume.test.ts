// Killing a pull mid-layer and pulling again: `bin/berth pull` runs as a child process against a
// fault proxy that stalls a large incompressible layer part-way; once its ingest holds bytes the
// child is SIGKILLed (no cleanup of its own runs), and a pull in this process on the same root must
// resume the partial ingest with a Range request, break the dead writer's lock, and end with the
// image whole and every blob verified.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContentStore } from '../../src/content/index.ts';
import { mountAll, mountsUnder, unmountAll } from '../../src/mount/index.ts';
import { testImageServices } from '../harness/berth-images.ts';
import { startFaultProxy } from '../harness/fault-proxy.ts';
import { imageFromTars, pushImage, sha256, tarOf } from '../harness/pull-check.ts';
import { startRegistry } from '../harness/registry.ts';
import { needs } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = needs('docker-registry', 'skopeo', 'openssl', 'mount');
const berth = new URL('../../bin/berth', import.meta.url).pathname;
/** The proxy lets this much of the layer through, then goes silent. */
const stallAfter = 1024 * 1024;
const waitForBytesMs = 20_000;

/** Resolves when the child has exited and been reaped ('exit' fires after waitpid). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

test('a pull killed mid-layer resumes from its partial ingest', { skip }, async (t) => {
  const base = tempDir(t, 'pull-resume');
  const root = join(base, 'root');
  mkdirSync(root);
  const registry = await startRegistry(t, { auth: 'none' });
  const payload = randomBytes(4 * 1024 * 1024); // gzip cannot shrink it: the blob is ~4 MiB
  const image = await imageFromTars(join(base, 'layout'), [await tarOf([{ name: 'big', content: payload }])]);
  const layer = image.layers[0];
  assert.ok(layer !== undefined && layer.size > 3 * stallAfter);
  const pushed = await pushImage(registry, image.layoutDir, 'resume/big');
  const proxy = await startFaultProxy(t, registry.url);
  const ref = pushed.replace(registry.host, proxy.host);
  proxy.rules.push({
    method: 'GET',
    path: new RegExp(`/blobs/${layer.digest}$`),
    fault: { kind: 'stall', afterBytes: stallAfter },
  });

  // No credentials file and no config file of the host's: an empty HOME and DOCKER_CONFIG.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: base, DOCKER_CONFIG: join(base, 'docker') };
  const child = spawn(berth, ['--root', root, 'pull', ref], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  t.after(async () => {
    child.kill('SIGKILL'); // a no-op once it has exited
    await exited(child);
  });

  // Wait until the child's ingest of the layer holds bytes, then kill it without warning.
  const deadline = Date.now() + waitForBytesMs;
  let held = 0;
  while (held === 0) {
    assert.equal(child.exitCode, null, `berth pull exited early:\n${output}`);
    assert.ok(Date.now() < deadline, `no ingest bytes after ${waitForBytesMs} ms:\n${output}`);
    if (existsSync(join(root, 'content', 'ingest'))) {
      const store = await ContentStore.open(join(root, 'content'));
      const ingest = (await store.ingests()).find((i) => i.ref === `layer-${layer.digest}`);
      held = ingest?.offset ?? 0;
    }
    if (held === 0) await sleep(50);
  }
  child.kill('SIGKILL');
  await exited(child);
  assert.equal(child.signalCode, 'SIGKILL');

  // What the killed pull left: a partial ingest, its lock owned by a dead process.
  const s = await testImageServices(t, { root });
  const [left] = await s.content.ingests();
  assert.ok(left !== undefined && left.offset >= held && left.offset <= stallAfter, JSON.stringify(left));
  assert.equal(left.lockedBy, undefined, 'the dead owner holds no lock');

  proxy.rules.length = 0;
  proxy.requests.length = 0;
  const pulled = await s.images.pull(ref);
  const ranges = proxy.requests
    .filter((r) => r.method === 'GET' && r.url.endsWith(`/blobs/${layer.digest}`))
    .map((r) => r.headers.range);
  assert.deepEqual(ranges, [`bytes=${left.offset}-`], 'resumed from the bytes held');

  assert.equal(s.metadata.images.get(ref).target.digest, image.manifest.digest);
  assert.equal((await s.snapshotter.stat(pulled.chainID)).kind, 'committed');
  assert.deepEqual((await s.content.verify()).corrupt, []);
  assert.equal((await s.content.info(layer.digest)).size, layer.size);
  assert.deepEqual(await s.content.ingests(), [], 'no ingest left');
  assert.deepEqual(
    readdirSync(join(root, 'content', 'ingest')).filter((n) => !n.startsWith('.')),
    [],
    'no ingest directory (and so no stale lock file) left',
  );
  const view = join(root, 'view');
  mkdirSync(view);
  t.after(() => unmountAll(view));
  await mountAll(await s.snapshotter.view('view', pulled.chainID), view);
  try {
    assert.equal(sha256(readFileSync(join(view, 'big'))), sha256(payload), 'the file is whole');
  } finally {
    await unmountAll(view);
    await s.snapshotter.remove('view');
  }
  assert.deepEqual(mountsUnder(root), []);
});
