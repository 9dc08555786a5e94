// Smoke test of the real-registry harness that every image test builds on: each auth variant of
// docker-registry accepts a skopeo push of the fixtures, serves them back byte-identical, and refuses
// clients without (or with wrong) credentials.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildFixtures, type FixtureLayout, type Fixtures } from '../harness/fixtures.ts';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import {
  type Creds,
  fetchBlob,
  fetchManifest,
  registryGet,
  sha256Digest,
} from '../harness/registry-fetch.ts';
import { needs } from '../harness/requirements.ts';
import { skopeoCopy, skopeoInspectRaw } from '../harness/skopeo.ts';
import { tempDir } from '../harness/tmp.ts';

function credsOf(registry: TestRegistry): Creds | undefined {
  const { username, password } = registry;
  return username === undefined || password === undefined ? undefined : { username, password };
}

/** Pushes one fixture with skopeo (digests preserved) and returns the repository it went to. */
async function push(registry: TestRegistry, fixture: FixtureLayout, all = false): Promise<string> {
  const repo = `berth-test/${fixture.name}`;
  const creds = credsOf(registry);
  await skopeoCopy(
    `oci:${fixture.layoutDir}:${fixture.tag}`,
    `docker://${registry.host}/${repo}:${fixture.tag}`,
    {
      ...(creds === undefined ? {} : { creds }),
      all,
      preserveDigests: true,
    },
  );
  return repo;
}

/** The pushed manifest and its first layer come back with the fixture's digests. */
async function assertServed(registry: TestRegistry, repo: string, fixture: FixtureLayout): Promise<void> {
  const creds = credsOf(registry);
  const manifest = await fetchManifest(registry.url, repo, fixture.tag, creds);
  assert.equal(sha256Digest(manifest.body), fixture.manifest.digest);
  assert.equal(manifest.digest, fixture.manifest.digest);
  assert.equal(manifest.mediaType, fixture.manifest.mediaType);
  const layer = fixture.layers[0];
  assert.ok(layer !== undefined, `fixture ${fixture.name} has no layers`);
  const blob = await fetchBlob(registry.url, repo, layer.digest, creds);
  assert.equal(blob.length, layer.size);
  assert.equal(sha256Digest(blob), layer.digest);
}

describe('registry harness smoke', { skip: needs('docker-registry', 'skopeo', 'openssl', 'busybox') }, () => {
  // One fixture build for the whole file (the describe body only runs when not skipped), removed by
  // a suite-level after hook: tempDir only needs something that registers a cleanup.
  const fixturesDir = tempDir({ after: (cleanup: () => void) => after(cleanup) }, 'fixtures');
  let fixtures: Fixtures;
  before(async () => {
    fixtures = await buildFixtures(fixturesDir);
  });

  test('auth none: push single and multiarch, read them back', async (t) => {
    const registry = await startRegistry(t, { auth: 'none' });
    const repo = await push(registry, fixtures.single);
    await assertServed(registry, repo, fixtures.single);
    // skopeo reads the same bytes back: a cross-check of fetchManifest and of skopeoInspectRaw.
    const raw = await skopeoInspectRaw(`docker://${registry.host}/${repo}:latest`);
    assert.equal(sha256Digest(raw), fixtures.single.manifest.digest);

    const multi = fixtures.multiarch;
    const multiRepo = await push(registry, multi, true);
    const index = await fetchManifest(registry.url, multiRepo, multi.tag);
    assert.equal(sha256Digest(index.body), multi.manifest.digest);
    const { manifests } = JSON.parse(index.body.toString('utf8')) as { manifests: { digest: string }[] };
    assert.ok(manifests.length >= 2, 'multiarch index lists several platforms');
    // --all pushed every platform's manifest, not just the host's.
    for (const child of manifests) {
      const m = await fetchManifest(registry.url, multiRepo, child.digest);
      assert.equal(sha256Digest(m.body), child.digest);
    }
  });

  test('auth basic: push with credentials, refuse without', async (t) => {
    const registry = await startRegistry(t, { auth: 'basic' });
    const creds = credsOf(registry);
    assert.ok(creds !== undefined);
    await assert.rejects(
      skopeoCopy(
        `oci:${fixtures.single.layoutDir}:latest`,
        `docker://${registry.host}/berth-test/denied:latest`,
      ),
      /unauthorized|authentication required/i,
    );
    const repo = await push(registry, fixtures.single);
    await assertServed(registry, repo, fixtures.single);

    const url = `${registry.url}/v2/${repo}/manifests/latest`;
    assert.equal((await registryGet(url)).status, 401);
    assert.equal((await registryGet(url, { creds: { ...creds, password: 'wrong' } })).status, 401);
  });

  test('auth token: push through the token flow, refuse anonymous and wrong password', async (t) => {
    const registry = await startRegistry(t, { auth: 'token' });
    const issuer = registry.tokenIssuer;
    const creds = credsOf(registry);
    assert.ok(issuer !== undefined && creds !== undefined);
    const repo = await push(registry, fixtures.single);
    await assertServed(registry, repo, fixtures.single);

    // The push asked for pull+push on the repository and got exactly that.
    const grant = issuer.requests.find((r) => r.status === 200 && r.account === creds.username);
    assert.ok(grant !== undefined, 'issuer served the test user');
    assert.ok(grant.scopes.includes(`repository:${repo}:pull,push`), `scopes: ${grant.scopes.join(' ')}`);
    assert.deepEqual(grant.granted, [{ type: 'repository', name: repo, actions: ['pull', 'push'] }]);

    const url = `${registry.url}/v2/${repo}/manifests/latest`;
    // Anonymous: the issuer hands out a token granting nothing, which the registry refuses.
    assert.equal((await registryGet(url)).status, 401);
    const anonymous = issuer.requests.filter((r) => r.account === undefined);
    assert.ok(anonymous.length > 0, 'issuer saw the anonymous request');
    assert.ok(anonymous.every((r) => r.status === 200 && r.granted.length === 0));
    // Wrong password: the issuer itself refuses.
    assert.equal((await registryGet(url, { creds: { ...creds, password: 'wrong' } })).status, 401);
    assert.equal(issuer.requests.at(-1)?.status, 401);
  });
});
