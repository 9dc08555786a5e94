import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FailedPreconditionError } from '../../src/errdefs/index.ts';
import { testImageServices } from '../harness/berth-images.ts';
import { buildFixtures, type Fixtures, hostPlatform } from '../harness/fixtures.ts';
import { type RegistryAuth, startRegistry } from '../harness/registry.ts';
import { needs } from '../harness/requirements.ts';
import { skopeoCopy, skopeoInspectRaw } from '../harness/skopeo.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = needs('docker-registry', 'skopeo', 'openssl', 'busybox', 'mount', 'mknod', 'setfattr');

describe('berth push to a real registry, read back by skopeo', { skip }, () => {
  const work = skip ? '' : tempDir({ after: (cleanup: () => void) => after(cleanup) }, 'push-fixtures');
  let built: Promise<Fixtures> | undefined;
  const getFixtures = () => {
    built ??= buildFixtures(work);
    return built;
  };

  for (const auth of ['none', 'basic', 'token'] as RegistryAuth[]) {
    test(`a pulled multi-layer image pushes under a new name (${auth} auth)`, async (t) => {
      const fixtures = await getFixtures();
      const source = await startRegistry(t, { auth: 'none' });
      const dest = await startRegistry(t, { auth });
      const from = `${source.host}/berth-test/multi:latest`;
      await skopeoCopy(`oci:${fixtures.multi.layoutDir}:latest`, `docker://${from}`, {
        preserveDigests: true,
      });
      const creds =
        dest.username === undefined ? undefined : { username: dest.username, password: dest.password ?? '' };
      const s = await testImageServices(t, { host: dest.host, ...(creds === undefined ? {} : { creds }) });
      await s.images.pull(from);

      const to = `${dest.host}/pushed/multi:v1`;
      const phases: string[] = [];
      const pushed = await s.images.push(from, { target: to, onProgress: (e) => phases.push(e.phase) });
      assert.equal(pushed.name, to);
      assert.equal(pushed.target.digest, fixtures.multi.manifest.digest);
      assert.ok(phases.includes('pushed'), 'blobs were uploaded');

      // skopeo, an independent client, reads the pushed manifest byte for byte and copies the image.
      const raw = await skopeoInspectRaw(`docker://${to}`, creds);
      assert.equal(
        `sha256:${createHash('sha256').update(raw).digest('hex')}`,
        fixtures.multi.manifest.digest,
      );
      const copy = join(work, `copy-${auth}`);
      await skopeoCopy(`docker://${to}`, `oci:${copy}:v1`, {
        ...(creds === undefined ? {} : { creds }),
        preserveDigests: true,
      });

      // Pushing again uploads nothing: every blob is already there.
      const again: string[] = [];
      await s.images.push(from, { target: to, onProgress: (e) => again.push(e.phase) });
      assert.ok(again.length > 0 && again.every((p) => p === 'uploading' || p === 'exists'), again.join());
    });
  }

  test('a push to another repository of the same registry mounts every blob', async (t) => {
    const fixtures = await getFixtures();
    const registry = await startRegistry(t, { auth: 'token' });
    const creds = { username: registry.username ?? '', password: registry.password ?? '' };
    const from = `${registry.host}/berth-test/multi:latest`;
    await skopeoCopy(`oci:${fixtures.multi.layoutDir}:latest`, `docker://${from}`, {
      creds,
      preserveDigests: true,
    });
    const s = await testImageServices(t, { host: registry.host, creds });
    await s.images.pull(from);
    const to = `${registry.host}/elsewhere/multi:v1`;
    const phases: string[] = [];
    await s.images.push(from, { target: to, onProgress: (e) => phases.push(e.phase) });
    // The blobs are not in elsewhere/multi, so without the mount each would end 'pushed'.
    assert.ok(!phases.includes('pushed'), phases.join());
    const raw = await skopeoInspectRaw(`docker://${to}`, creds);
    assert.equal(`sha256:${createHash('sha256').update(raw).digest('hex')}`, fixtures.multi.manifest.digest);
  });

  test('--platform pushes the pulled platform of an index alone, under the tag', async (t) => {
    const fixtures = await getFixtures();
    const registry = await startRegistry(t, { auth: 'none' });
    const from = `${registry.host}/berth-test/multiarch:latest`;
    await skopeoCopy(`oci:${fixtures.multiarch.layoutDir}:latest`, `docker://${from}`, {
      all: true,
      preserveDigests: true,
    });
    const s = await testImageServices(t);
    const pulled = await s.images.pull(from);
    const to = `${registry.host}/pushed/one-platform:latest`;
    const pushed = await s.images.push(from, { target: to, platform: hostPlatform() });
    assert.equal(pushed.target.digest, pulled.manifest.digest);
    const raw = await skopeoInspectRaw(`docker://${to}`);
    assert.equal(`sha256:${createHash('sha256').update(raw).digest('hex')}`, pulled.manifest.digest);
  });

  test('an index whose other platforms were never pulled is refused, naming the missing manifest', async (t) => {
    const fixtures = await getFixtures();
    const registry = await startRegistry(t, { auth: 'none' });
    const from = `${registry.host}/berth-test/multiarch:latest`;
    await skopeoCopy(`oci:${fixtures.multiarch.layoutDir}:latest`, `docker://${from}`, {
      all: true,
      preserveDigests: true,
    });
    const s = await testImageServices(t);
    await s.images.pull(from);
    await assert.rejects(
      s.images.push(from, { target: `${registry.host}/pushed/multiarch:latest` }),
      (err: unknown) =>
        err instanceof FailedPreconditionError &&
        /sha256:[0-9a-f]{64} is not in the content store/.test(err.message),
    );
  });
});
