// berth's registry client (src/registry) against a real docker-registry in all three auth modes,
// cross-checked with skopeo both ways, and against a fault-injecting proxy for the failures a
// healthy registry never produces.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, type TestContext, test } from 'node:test';
import {
  CanceledError,
  DataLossError,
  DeadlineExceededError,
  NotFoundError,
  UnauthenticatedError,
  UnavailableError,
} from '../../src/errdefs/index.ts';
import type { Descriptor, Manifest } from '../../src/oci/image/index.ts';
import { RegistryClient, type RegistryClientOptions, staticCredentials } from '../../src/registry/index.ts';
import { startFaultProxy } from '../harness/fault-proxy.ts';
import { buildFixtures, type FixtureLayout, type Fixtures } from '../harness/fixtures.ts';
import { type RegistryAuth, startRegistry, type TestRegistry } from '../harness/registry.ts';
import { needs } from '../harness/requirements.ts';
import { skopeoCopy, skopeoInspectRaw } from '../harness/skopeo.ts';
import { tempDir } from '../harness/tmp.ts';

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function blobPath(fixture: FixtureLayout, digest: string): string {
  return join(fixture.layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

function credsOf(r: TestRegistry): { username: string; password: string } | undefined {
  return r.username === undefined || r.password === undefined
    ? undefined
    : { username: r.username, password: r.password };
}

function clientFor(
  t: { after(fn: () => Promise<void>): void },
  host: string,
  r: TestRegistry,
  extra: RegistryClientOptions = {},
) {
  const creds = credsOf(r);
  const client = new RegistryClient({
    ...(creds === undefined ? {} : { credentials: staticCredentials(host, creds) }),
    retry: { baseDelayMs: 10, maxDelayMs: 50 },
    ...extra,
  });
  t.after(() => client.close());
  return client;
}

async function skopeoPush(r: TestRegistry, fixture: FixtureLayout, repo: string): Promise<void> {
  const creds = credsOf(r);
  await skopeoCopy(`oci:${fixture.layoutDir}:${fixture.tag}`, `docker://${r.host}/${repo}:latest`, {
    ...(creds === undefined ? {} : { creds }),
    preserveDigests: true,
  });
}

describe('registry client against docker-registry', {
  skip: needs('docker-registry', 'skopeo', 'openssl'),
}, () => {
  const fixturesDir = tempDir({ after: (cleanup: () => void) => after(cleanup) }, 'fixtures');
  let fixtures: Fixtures;
  before(async () => {
    fixtures = await buildFixtures(fixturesDir);
  });

  for (const auth of ['none', 'basic', 'token'] as RegistryAuth[]) {
    test(`auth ${auth}: pull what skopeo pushed, push what skopeo reads back`, async (t) => {
      const r = await startRegistry(t, { auth });
      const client = clientFor(t, r.host, r);
      const fx = fixtures.single;
      await skopeoPush(r, fx, 'berth-test/single');

      const desc = await client.resolve(r.host, 'berth-test/single', 'latest');
      assert.deepEqual(desc, {
        mediaType: fx.manifest.mediaType,
        digest: fx.manifest.digest,
        size: fx.manifest.size,
      });
      const manifestBytes = await client.fetchManifest(r.host, 'berth-test/single', desc.digest);
      assert.equal(sha256(manifestBytes), fx.manifest.digest);
      const manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
      for (const blob of [manifest.config, ...manifest.layers]) {
        const bytes = await readAll(await client.fetchBlob(r.host, 'berth-test/single', blob));
        assert.equal(sha256(bytes), blob.digest);
      }
      // Resume from an offset: exactly the tail.
      const layer = manifest.layers[0] as Descriptor;
      const tail = await readAll(
        await client.fetchBlob(r.host, 'berth-test/single', layer, { offset: 1000 }),
      );
      assert.deepEqual(tail, (await readFile(blobPath(fx, layer.digest))).subarray(1000));
      await assert.rejects(client.resolve(r.host, 'berth-test/single', 'nope'), (err: unknown) => {
        assert.ok(err instanceof NotFoundError);
        assert.match(
          err.message,
          new RegExp(`manifest "nope" not found in ${r.host}/berth-test/single \\(HTTP 404 MANIFEST_UNKNOWN`),
        );
        return true;
      });

      // berth pushes multi (one blob chunked), mounts one blob across repositories, skopeo reads it.
      const multi = fixtures.multi;
      const mManifest = JSON.parse(
        await readFile(blobPath(multi, multi.manifest.digest), 'utf8'),
      ) as Manifest;
      const results = [];
      for (const [i, blob] of [mManifest.config, ...mManifest.layers].entries()) {
        results.push(
          await client.pushBlob(
            r.host,
            'berth-test/pushed',
            blob,
            () => createReadStream(blobPath(multi, blob.digest)),
            {
              ...(i === 1 ? { chunkSize: 64 * 1024 } : {}),
            },
          ),
        );
      }
      assert.deepEqual(results, Array(results.length).fill('uploaded'));
      const again = await client.pushBlob(r.host, 'berth-test/pushed', mManifest.config, () => {
        throw new Error('must not open a blob the registry has');
      });
      assert.equal(again, 'exists');
      const mounted = await client.pushBlob(
        r.host,
        'berth-test/mounted',
        mManifest.layers[0] as Descriptor,
        () => {
          throw new Error('must not open a mounted blob');
        },
        { mountFrom: 'berth-test/pushed' },
      );
      assert.equal(mounted, 'mounted');
      const mBytes = await readFile(blobPath(multi, multi.manifest.digest));
      const pushed = await client.pushManifest(
        r.host,
        'berth-test/pushed',
        'v1',
        mBytes,
        multi.manifest.mediaType,
      );
      assert.equal(pushed.digest, multi.manifest.digest);
      const creds = credsOf(r);
      const raw = await skopeoInspectRaw(`docker://${r.host}/berth-test/pushed:v1`, creds);
      assert.equal(sha256(raw), multi.manifest.digest);
      const out = tempDir(t, 'skopeo-out');
      await skopeoCopy(`docker://${r.host}/berth-test/pushed:v1`, `oci:${out}:v1`, {
        ...(creds === undefined ? {} : { creds }),
        preserveDigests: true,
      });
      for (const l of mManifest.layers)
        assert.equal(sha256(await readFile(join(out, 'blobs', 'sha256', l.digest.slice(7)))), l.digest);

      if (auth === 'token') {
        const scopes = r.tokenIssuer?.requests.flatMap((q) => q.scopes) ?? [];
        assert.ok(scopes.includes('repository:berth-test/single:pull'), scopes.join(' '));
        assert.ok(scopes.includes('repository:berth-test/pushed:pull'), scopes.join(' '));
      }
      if (auth !== 'none') {
        const wrong = new RegistryClient({
          credentials: staticCredentials(r.host, { username: r.username ?? '', password: 'wrong' }),
        });
        t.after(() => wrong.close());
        await assert.rejects(wrong.resolve(r.host, 'berth-test/single', 'latest'), (err: unknown) => {
          assert.ok(err instanceof UnauthenticatedError, String(err));
          assert.ok(err.message.includes(r.host), err.message);
          return true;
        });
      }
    });
  }

  describe('faults injected between client and registry', () => {
    // One registry per test: a registry started in a suite-level hook would be stopped with it.
    let layer: Descriptor;
    let layerBytes: Buffer;
    async function setup(t: TestContext): Promise<TestRegistry> {
      const r = await startRegistry(t, { auth: 'basic' });
      await skopeoPush(r, fixtures.single, 'berth-test/single');
      layer = fixtures.single.layers[0] as Descriptor;
      layerBytes = await readFile(blobPath(fixtures.single, layer.digest));
      return r;
    }
    const repo = 'berth-test/single';
    const blobPathRe = /\/blobs\/sha256:/;

    test('429 with Retry-After is waited out', async (t) => {
      const r = await setup(t);
      const p = await startFaultProxy(t, r.url);
      p.rules.push({
        method: 'HEAD',
        path: /\/manifests\/latest/,
        fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
        times: 1,
      });
      const client = clientFor(t, p.host, r);
      const started = Date.now();
      const desc = await client.resolve(p.host, repo, 'latest');
      assert.equal(desc.digest, fixtures.single.manifest.digest);
      assert.ok(Date.now() - started >= 900, 'waited for Retry-After');
    });

    test('500 once then passes; 503 always gives UnavailableError after the attempts', async (t) => {
      const r = await setup(t);
      const p = await startFaultProxy(t, r.url);
      p.rules.push({ method: 'GET', path: blobPathRe, fault: { kind: 'status', status: 500 }, times: 1 });
      const client = clientFor(t, p.host, r, { retry: { attempts: 3, baseDelayMs: 10 } });
      assert.equal(sha256(await readAll(await client.fetchBlob(p.host, repo, layer))), layer.digest);
      p.rules.push({ method: 'GET', path: blobPathRe, fault: { kind: 'status', status: 503 } });
      const before = p.requests.length;
      await assert.rejects(client.fetchBlob(p.host, repo, layer), (err: unknown) => {
        assert.ok(err instanceof UnavailableError);
        assert.match(
          err.message,
          /blob sha256:.* in 127\.0\.0\.1:\d+\/berth-test\/single: .*HTTP 503 INJECTED/,
        );
        return true;
      });
      assert.equal(p.requests.length - before, 3);
    });

    test('a truncated body resumes with Range; always truncated fails with DataLoss', async (t) => {
      const r = await setup(t);
      const p = await startFaultProxy(t, r.url);
      p.rules.push({
        method: 'GET',
        path: blobPathRe,
        fault: { kind: 'truncate', afterBytes: 5000 },
        times: 1,
      });
      const client = clientFor(t, p.host, r, { retry: { attempts: 3, baseDelayMs: 10 } });
      assert.equal(sha256(await readAll(await client.fetchBlob(p.host, repo, layer))), layer.digest);
      assert.ok(
        p.requests.some((q) => /^bytes=[1-9]\d*-$/.test(q.headers.range ?? '')),
        `resumed with a Range request: ${p.requests.map((q) => q.headers.range).join(' ')}`,
      );
      p.rules.push({ method: 'GET', path: blobPathRe, fault: { kind: 'truncate', afterBytes: 10 } });
      await assert.rejects(
        client.fetchBlob(p.host, repo, layer).then(readAll),
        (err: unknown) => err instanceof UnavailableError || err instanceof DataLossError,
      );
    });

    test('a body that ends cleanly but short resumes with Range; short every time is Unavailable', async (t) => {
      const r = await setup(t);
      const p = await startFaultProxy(t, r.url);
      // A 200 with a Content-Length of 5000 and those 5000 bytes: the response is whole as HTTP goes,
      // the blob is not.
      const short = {
        kind: 'replace',
        headers: { 'content-type': 'application/octet-stream' },
        body: layerBytes.subarray(0, 5000),
      } as const;
      p.rules.push({ method: 'GET', path: blobPathRe, fault: short, times: 1 });
      const client = clientFor(t, p.host, r, { retry: { attempts: 3, baseDelayMs: 10 } });
      assert.equal(sha256(await readAll(await client.fetchBlob(p.host, repo, layer))), layer.digest);
      // (Each request may be sent twice: once more with credentials after a 401.)
      assert.deepEqual(
        [
          ...new Set(
            p.requests
              .filter((q) => blobPathRe.test(q.url) && q.method === 'GET')
              .map((q) => q.headers.range),
          ),
        ],
        [undefined, 'bytes=5000-'],
      );
      // Every answer short: nothing that arrived was wrong, so this is retryable, not DataLoss.
      p.rules.push({ method: 'GET', path: blobPathRe, fault: short });
      const got: Buffer[] = [];
      const stream = await client.fetchBlob(p.host, repo, layer);
      stream.on('data', (c: Buffer) => got.push(c));
      await assert.rejects(
        new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject)),
        (err: unknown) => {
          assert.ok(err instanceof UnavailableError, String(err));
          assert.match(
            err.message,
            new RegExp(
              `blob ${layer.digest} in ${p.host}/${repo}: .* sent only 5000 of ${layer.size} bytes \\(3 attempts\\)`,
            ),
          );
          return true;
        },
      );
      assert.deepEqual(Buffer.concat(got), layerBytes.subarray(0, 5000), 'the bytes that came are delivered');
    });

    test('wrong bytes are DataLoss', async (t) => {
      const r = await setup(t);
      const p = await startFaultProxy(t, r.url);
      p.rules.push({ method: 'GET', path: blobPathRe, fault: { kind: 'corrupt' } });
      const client = clientFor(t, p.host, r);
      await assert.rejects(client.fetchBlob(p.host, repo, layer).then(readAll), (err: unknown) => {
        assert.ok(err instanceof DataLossError);
        assert.match(err.message, /expected sha256:/);
        return true;
      });
    });

    test('a 200 answer to a Range request: the client drops the first offset bytes itself', async (t) => {
      const r = await setup(t);
      const p = await startFaultProxy(t, r.url);
      p.rules.push({ method: 'GET', path: blobPathRe, fault: { kind: 'ignore-range' } });
      const client = clientFor(t, p.host, r);
      const tail = await readAll(await client.fetchBlob(p.host, repo, layer, { offset: 12345 }));
      assert.deepEqual(tail, layerBytes.subarray(12345));
    });

    test('a redirect to another host is followed without the Authorization header', async (t) => {
      const r = await setup(t);
      const p = await startFaultProxy(t, r.url);
      p.rules.push({ method: 'GET', path: blobPathRe, fault: { kind: 'redirect' } });
      const client = clientFor(t, p.host, r);
      assert.equal(sha256(await readAll(await client.fetchBlob(p.host, repo, layer))), layer.digest);
      assert.equal(p.storageRequests.length, 1);
      assert.equal(p.storageRequests[0]?.headers.authorization, undefined);
      assert.ok(
        p.requests.some((q) => blobPathRe.test(q.url) && q.headers.authorization?.startsWith('Basic ')),
      );
    });

    test('a stalled body fails with DeadlineExceeded; an abort with Canceled', async (t) => {
      const r = await setup(t);
      const p = await startFaultProxy(t, r.url);
      p.rules.push({ method: 'GET', path: blobPathRe, fault: { kind: 'stall', afterBytes: 4096 } });
      const client = clientFor(t, p.host, r, { stallTimeoutMs: 300 });
      await assert.rejects(client.fetchBlob(p.host, repo, layer).then(readAll), (err: unknown) => {
        assert.ok(err instanceof DeadlineExceededError, String(err));
        assert.match(err.message, /no data from .* for 0.3 s after 4096 of/);
        return true;
      });
      const ac = new AbortController();
      const stream = await clientFor(t, p.host, r).fetchBlob(p.host, repo, layer, { signal: ac.signal });
      setTimeout(() => ac.abort(), 100);
      await assert.rejects(readAll(stream), CanceledError);
    });
  });
});
