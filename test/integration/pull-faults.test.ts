// berth pull against a misbehaving registry: the real docker-registry behind the fault proxy
// (test/harness/fault-proxy.ts). Each failure is checked for its error (class, and a message naming
// the host, repository, object and status) and for leaving the store and the host as they were
// (test/harness/pull-check.ts assertUnchanged); then the same pull, without the fault, succeeds.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import {
  DataLossError,
  DeadlineExceededError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
} from '../../src/errdefs/index.ts';
import { pullLeaseLifetimeMs } from '../../src/images/index.ts';
import { type FaultProxy, type FaultRule, startFaultProxy } from '../harness/fault-proxy.ts';
import {
  failingPull,
  imageFromTars,
  type PullSandbox,
  pullSandbox,
  pushImage,
  sha256,
  suiteContext,
  type TestImage,
  tarOf,
} from '../harness/pull-check.ts';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { needs } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = needs('docker-registry', 'skopeo', 'openssl', 'mount');

/** Bytes the truncating and stalling proxy lets through per response: a fraction of the layer. */
const cut = 50_000;

describe('berth pull from a misbehaving registry', { skip }, () => {
  const suite = suiteContext(after);
  const work = skip ? '' : tempDir(suite, 'pull-faults');
  let registry: TestRegistry;
  let image: TestImage;
  let layerBlob: Buffer;
  let repoCount = 0;
  before(async () => {
    registry = await startRegistry(suite, { auth: 'none' });
    // ~300 KiB that gzip cannot shrink, so a cut at 50 000 bytes falls mid-layer.
    const tar = await tarOf([
      { name: 'data/', type: 'directory' },
      { name: 'data/random', content: randomBytes(300 * 1024) },
      { name: 'data/hello', content: 'hello\n' },
    ]);
    image = await imageFromTars(join(work, 'layout'), [tar]);
    layerBlob = readFileSync(join(work, 'layout/blobs/sha256', layer().digest.slice('sha256:'.length)));
  });

  const layer = () => image.layers[0] as NonNullable<TestImage['layers'][0]>;
  const documents = () => [image.manifest.digest, image.config.digest];
  const blobRule = (fault: FaultRule['fault'], times?: number): FaultRule => ({
    method: 'GET',
    path: new RegExp(`/blobs/${layer().digest}$`),
    fault,
    ...(times === undefined ? {} : { times }),
  });

  /** A fresh repository holding the image, behind a fresh proxy, and a berth on a fresh root. */
  async function setup(t: TestContext, opts: { snapshotter?: 'native'; stallTimeoutMs?: number } = {}) {
    const ref = await pushImage(registry, image.layoutDir, `faults/r${repoCount++}`);
    const proxy = await startFaultProxy(t, registry.url);
    const sb = await pullSandbox(t, opts);
    return { proxy, sb, ref: ref.replace(registry.host, proxy.host) };
  }

  /** The pull without faults (or through faults it recovers from, `clear` false): the image whole,
   * every blob verified, no ingest or lease left. */
  async function cleanPull(sb: PullSandbox, proxy: FaultProxy, ref: string, clear = true): Promise<void> {
    if (clear) proxy.rules.length = 0;
    const pulled = await sb.s.images.pull(ref);
    assert.equal(pulled.target.digest, image.manifest.digest);
    assert.equal(sb.s.metadata.images.get(ref).target.digest, image.manifest.digest);
    assert.equal((await sb.s.snapshotter.stat(pulled.chainID)).kind, 'committed');
    assert.equal((await sb.s.content.info(layer().digest)).size, layer().size);
    assert.deepEqual((await sb.s.content.verify()).corrupt, []);
    assert.deepEqual(await sb.s.content.ingests(), []);
    assert.deepEqual(sb.s.metadata.leases.list(), []);
  }

  const blobRanges = (proxy: FaultProxy): string[] =>
    proxy.requests
      .filter((r) => r.method === 'GET' && r.url.endsWith(`/blobs/${layer().digest}`))
      .map((r) => String(r.headers.range ?? ''));

  for (const snapshotter of [undefined, 'native'] as const) {
    test(`wrong bytes: DataLoss naming expected and actual digest (${snapshotter ?? 'overlayfs'})`, async (t) => {
      const { proxy, sb, ref } = await setup(t, snapshotter === undefined ? {} : { snapshotter });
      proxy.rules.push(blobRule({ kind: 'corrupt' }));
      // The proxy flips the first byte: berth must name the digest of exactly those bytes.
      const served = Buffer.from(layerBlob);
      served[0] = (served[0] ?? 0) ^ 0xff;
      await failingPull(
        sb,
        ref,
        (err) => {
          assert.ok(err instanceof DataLossError, String(err));
          assert.match(err.message, new RegExp(`expected ${layer().digest}, got ${sha256(served)}`));
        },
        { layer: layer(), documents: documents(), ingest: 'none' },
      );
      await cleanPull(sb, proxy, ref);
    });
  }

  test('a body cut once resumes with Range and succeeds', async (t) => {
    const { proxy, sb, ref } = await setup(t);
    proxy.rules.push(blobRule({ kind: 'truncate', afterBytes: cut }, 1));
    await cleanPull(sb, proxy, ref, false);
    assert.equal(proxy.rules[0]?.times, 0, 'the body was cut');
    const ranges = blobRanges(proxy);
    assert.equal(ranges.length, 2, JSON.stringify(ranges));
    assert.match(ranges[1] ?? '', /^bytes=[1-9]\d*-$/);
  });

  test('a body cut every time fails, keeps the partial ingest, and the next pull resumes it', async (t) => {
    const { proxy, sb, ref } = await setup(t);
    proxy.rules.push(blobRule({ kind: 'truncate', afterBytes: cut }));
    const view = await failingPull(
      sb,
      ref,
      (err) => {
        assert.ok(err instanceof UnavailableError, String(err));
        assert.match(err.message, new RegExp(`blob ${layer().digest} in ${proxy.host}/faults/r\\d+`));
      },
      { layer: layer(), documents: documents(), ingest: 'kept' },
    );
    const held = view.ingests[0]?.offset ?? 0;
    assert.ok(held >= cut && held < layer().size, `held ${held} bytes`);
    proxy.requests.length = 0;
    await cleanPull(sb, proxy, ref);
    assert.deepEqual(blobRanges(proxy), [`bytes=${held}-`]);
  });

  test('a body that ends cleanly short every time: Unavailable, partial ingest kept, then resumed', async (t) => {
    const { proxy, sb, ref } = await setup(t);
    // 200 with Content-Length `cut`: a complete HTTP response holding only the blob's first bytes.
    // Nothing that arrived is wrong, so the failure is retryable and the bytes are kept.
    proxy.rules.push(
      blobRule({
        kind: 'replace',
        headers: { 'content-type': 'application/octet-stream' },
        body: layerBlob.subarray(0, cut),
      }),
    );
    const view = await failingPull(
      sb,
      ref,
      (err) => {
        assert.ok(err instanceof UnavailableError, String(err));
        assert.match(
          err.message,
          new RegExp(
            `blob ${layer().digest} in ${proxy.host}/faults/r\\d+: .* sent only ${cut} of ${layer().size} bytes`,
          ),
        );
      },
      { layer: layer(), documents: documents(), ingest: 'kept' },
    );
    assert.equal(view.ingests[0]?.offset, cut);
    proxy.requests.length = 0;
    await cleanPull(sb, proxy, ref);
    assert.deepEqual(blobRanges(proxy), [`bytes=${cut}-`]);
  });

  test('a 200 answer to a Range request still gives the right bytes', async (t) => {
    const { proxy, sb, ref } = await setup(t);
    proxy.rules.push(
      blobRule({ kind: 'truncate', afterBytes: cut }, 1),
      blobRule({ kind: 'ignore-range' }, 1),
    );
    await cleanPull(sb, proxy, ref, false);
    assert.deepEqual(
      proxy.rules.map((r) => r.times),
      [0, 0],
      'cut once, then the whole blob sent to a Range request',
    );
    const ranges = blobRanges(proxy);
    assert.equal(ranges.length, 2);
    assert.match(ranges[1] ?? '', /^bytes=[1-9]\d*-$/, 'a Range request was made (and answered 200)');
  });

  test('a stall mid-layer: DeadlineExceeded, partial ingest kept, then resumed', async (t) => {
    const { proxy, sb, ref } = await setup(t, { stallTimeoutMs: 300 });
    proxy.rules.push(blobRule({ kind: 'stall', afterBytes: cut }));
    const view = await failingPull(
      sb,
      ref,
      (err) => {
        assert.ok(err instanceof DeadlineExceededError, String(err));
        assert.match(
          err.message,
          new RegExp(`blob ${layer().digest} in ${proxy.host}/faults/r\\d+: no data`),
        );
      },
      { layer: layer(), documents: documents(), ingest: 'kept' },
    );
    const held = view.ingests[0]?.offset ?? 0;
    assert.ok(held > 0, `held ${held} bytes`);
    proxy.requests.length = 0;
    await cleanPull(sb, proxy, ref);
    assert.deepEqual(blobRanges(proxy), [`bytes=${held}-`]);
  });

  test('a pull renews its lease while it runs (a pull longer than the lease lifetime keeps it)', async (t) => {
    const { proxy, sb, ref } = await setup(t, { stallTimeoutMs: 1500 });
    proxy.rules.push(blobRule({ kind: 'stall', afterBytes: cut }));
    // Only the renewal uses setInterval here: ticking it stands for a third of an hour going by.
    t.mock.timers.enable({ apis: ['setInterval'] });
    const pull = sb.s.images.pull(ref);
    pull.catch(() => undefined);
    const leaseOf = () => sb.s.metadata.leases.list().find((l) => l.id.startsWith('pull-'));
    while ((await sb.s.content.ingests()).length === 0) await setTimeout(10);
    const created = leaseOf();
    assert.ok(created?.expires !== undefined, 'the pull holds a lease with an expiry');
    await setTimeout(5);
    t.mock.timers.tick(pullLeaseLifetimeMs / 3);
    const renewed = leaseOf();
    assert.equal(renewed?.id, created.id);
    assert.ok(
      Date.parse(renewed?.expires ?? '') > Date.parse(created.expires),
      `expiry moved on: ${created.expires} → ${renewed?.expires}`,
    );
    await assert.rejects(pull, DeadlineExceededError);
    assert.deepEqual(sb.s.metadata.leases.list(), [], 'the lease goes with the pull');
  });

  test('429 with Retry-After is waited out', async (t) => {
    const { proxy, sb, ref } = await setup(t);
    proxy.rules.push(blobRule({ kind: 'status', status: 429, headers: { 'retry-after': '1' } }, 1));
    const start = Date.now();
    await cleanPull(sb, proxy, ref, false);
    assert.ok(Date.now() - start >= 900, 'waited for Retry-After');
    assert.equal(blobRanges(proxy).length, 2);
  });

  test('500 every time: Unavailable after the retries', async (t) => {
    const { proxy, sb, ref } = await setup(t);
    proxy.rules.push(blobRule({ kind: 'status', status: 500 }));
    await failingPull(
      sb,
      ref,
      (err) => {
        assert.ok(err instanceof UnavailableError, String(err));
        assert.match(
          err.message,
          new RegExp(`blob ${layer().digest} in ${proxy.host}/faults/r\\d+: .*HTTP 500`),
        );
      },
      { layer: layer(), documents: documents(), ingest: 'none' },
    );
    assert.equal(blobRanges(proxy).length, 3, 'three attempts');
    await cleanPull(sb, proxy, ref);
  });

  test('403 on the manifest: PermissionDenied naming the host and repository', async (t) => {
    const { proxy, sb, ref } = await setup(t);
    proxy.rules.push({ path: /\/manifests\//, fault: { kind: 'status', status: 403 } });
    await failingPull(
      sb,
      ref,
      (err) => {
        assert.ok(err instanceof PermissionDeniedError, String(err));
        assert.match(err.message, new RegExp(`manifest "latest" in ${proxy.host}/faults/r\\d+: .*HTTP 403`));
      },
      { ingest: 'none' },
    );
    await cleanPull(sb, proxy, ref);
  });

  test('a missing tag: NotFound naming the tag and repository', async (t) => {
    const { proxy, sb, ref } = await setup(t);
    await failingPull(
      sb,
      ref.replace(/:latest$/, ':nosuch'),
      (err) => {
        assert.ok(err instanceof NotFoundError, String(err));
        assert.match(
          err.message,
          new RegExp(`manifest "nosuch" not found in ${proxy.host}/faults/r\\d+ .*404`),
        );
      },
      { ingest: 'none' },
    );
    await cleanPull(sb, proxy, ref);
  });

  test('401 without and with wrong credentials: Unauthenticated', async (t) => {
    const secured = await startRegistry(t, { auth: 'basic' });
    const ref = await pushImage(secured, image.layoutDir, 'faults/auth');
    const user = secured.username ?? '';
    for (const creds of [undefined, { username: user, password: 'wrong' }]) {
      const sb = await pullSandbox(t, creds === undefined ? {} : { host: secured.host, creds });
      await failingPull(
        sb,
        ref,
        (err) => {
          assert.ok(err instanceof UnauthenticatedError, String(err));
          assert.match(
            err.message,
            new RegExp(`manifest "latest" in ${secured.host}/faults/auth: .*HTTP 401`),
          );
        },
        { ingest: 'none' },
      );
    }
    const sb = await pullSandbox(t, {
      host: secured.host,
      creds: { username: user, password: secured.password ?? '' },
    });
    assert.equal((await sb.s.images.pull(ref)).target.digest, image.manifest.digest);
  });
});
