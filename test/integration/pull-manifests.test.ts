// berth pull of images whose documents are wrong: a malformed layer digest, a manifest over 4 MiB and
// a Docker schema 1 manifest (served by the fault proxy's `replace` rule: the registry refuses to
// store them), and images a registry does store — a config whose diff_ids disagree with the layers
// in number, or in value (the layer's tar is not what the config says). Each fails with its clear
// error and leaves the store and the host unchanged; a good image pulls afterwards.

import assert from 'node:assert/strict';
import { after, before, describe, type TestContext, test } from 'node:test';
import { OciLayout } from '../../src/content/index.ts';
import { DataLossError, InvalidArgumentError, ResourceExhaustedError } from '../../src/errdefs/index.ts';
import { type FaultRule, startFaultProxy } from '../harness/fault-proxy.ts';
import {
  failingPull,
  imageFromTars,
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

const skip = needs('docker-registry', 'skopeo', 'openssl');

const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
const schema1Type = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

describe('berth pull of bad manifests and configs', { skip }, () => {
  const suite = suiteContext(after);
  const work = skip ? '' : tempDir(suite, 'pull-manifests');
  let registry: TestRegistry;
  let good: TestImage;
  let goodManifest: Buffer;
  let tar: Buffer;
  let repoCount = 0;
  before(async () => {
    registry = await startRegistry(suite, { auth: 'none' });
    tar = await tarOf([{ name: 'hello', content: 'hello\n' }]);
    good = await imageFromTars(`${work}/good`, [tar]);
    goodManifest = await (await OciLayout.open(good.layoutDir)).readBlob(good.manifest.digest);
  });

  /** A repository holding the good image, whose manifests the proxy answers with `bytes` instead. */
  async function served(t: TestContext, bytes: Buffer, mediaType: string, extra: FaultRule[] = []) {
    const repo = `manifests/r${repoCount++}`;
    await pushImage(registry, good.layoutDir, repo);
    const proxy = await startFaultProxy(t, registry.url);
    const headers = { 'content-type': mediaType, 'docker-content-digest': sha256(bytes) };
    proxy.rules.push(...extra, { path: /\/manifests\//, fault: { kind: 'replace', headers, body: bytes } });
    const sb = await pullSandbox(t);
    const ref = `${proxy.host}/${repo}:latest`;
    const cleanPull = async () => {
      proxy.rules.length = 0;
      assert.equal((await sb.s.images.pull(ref)).target.digest, good.manifest.digest);
      assert.deepEqual((await sb.s.content.verify()).corrupt, []);
    };
    return { sb, ref, proxy, cleanPull };
  }

  test('a layer digest "sha256:../../x": InvalidArgument naming the field, nothing stored', async (t) => {
    const doc = JSON.parse(goodManifest.toString());
    doc.layers[0].digest = 'sha256:../../x';
    const { sb, ref, cleanPull } = await served(t, Buffer.from(JSON.stringify(doc)), ociManifest);
    await failingPull(
      sb,
      ref,
      (err) => {
        assert.ok(err instanceof InvalidArgumentError, String(err));
        assert.match(err.message, /manifest sha256:[0-9a-f]{64} of .*\/manifests\/r\d+.*layers\[0\]\.digest/);
        assert.match(err.message, /sha256:\.\.\/\.\.\/x/);
      },
      { ingest: 'none' },
    );
    await cleanPull();
  });

  for (const how of ['HEAD', 'GET only'] as const) {
    test(`a manifest over 4 MiB (${how}): ResourceExhausted before it is read`, async (t) => {
      const doc = JSON.parse(goodManifest.toString());
      doc.annotations = { padding: 'x'.repeat(4 * 1024 * 1024) };
      const bytes = Buffer.from(JSON.stringify(doc));
      // 'GET only': a registry whose HEAD says nothing useful, so the size is seen on the GET.
      const extra: FaultRule[] =
        how === 'GET only'
          ? [{ method: 'HEAD', path: /\/manifests\//, fault: { kind: 'status', status: 405 } }]
          : [];
      const { sb, ref, cleanPull } = await served(t, bytes, ociManifest, extra);
      await failingPull(
        sb,
        ref,
        (err) => {
          assert.ok(err instanceof ResourceExhaustedError, String(err));
          assert.match(
            err.message,
            new RegExp(
              `manifest .* (of|in) 127\\.0\\.0\\.1:\\d+/manifests/r\\d+ is ${bytes.length} bytes, over the .*4194304`,
            ),
          );
        },
        { ingest: 'none' },
      );
      await cleanPull();
    });
  }

  test('a Docker schema 1 manifest: InvalidArgument saying how to fix the image', async (t) => {
    const schema1 = {
      schemaVersion: 1,
      name: 'manifests/old',
      tag: 'latest',
      architecture: 'amd64',
      fsLayers: [{ blobSum: good.layers[0]?.digest }],
      history: [{ v1Compatibility: '{"id":"x"}' }],
      signatures: [],
    };
    const { sb, ref, cleanPull } = await served(t, Buffer.from(JSON.stringify(schema1)), schema1Type);
    await failingPull(
      sb,
      ref,
      (err) => {
        assert.ok(err instanceof InvalidArgumentError, String(err));
        assert.match(err.message, /Docker schema 1 images are not supported/);
      },
      { ingest: 'none' },
    );
    await cleanPull();
  });

  /** An image the registry stores as it is, and a sandbox to pull it into. */
  async function stored(t: TestContext, image: TestImage) {
    const repo = `manifests/r${repoCount++}`;
    const ref = await pushImage(registry, image.layoutDir, repo);
    const goodRef = await pushImage(registry, good.layoutDir, `${repo}-good`);
    const sb = await pullSandbox(t);
    const cleanPull = async () => {
      assert.equal((await sb.s.images.pull(goodRef)).target.digest, good.manifest.digest);
      assert.deepEqual((await sb.s.content.verify()).corrupt, []);
    };
    return { sb, ref, cleanPull };
  }

  test('a config with more diff_ids than the manifest has layers: InvalidArgument', async (t) => {
    const image = await imageFromTars(`${work}/diffids-count`, [tar], (config) => {
      config.rootfs.diff_ids.push(sha256(Buffer.from('another layer')));
      config.history?.push({ created_by: 'another layer' });
    });
    const { sb, ref, cleanPull } = await stored(t, image);
    await failingPull(
      sb,
      ref,
      (err) => {
        assert.ok(err instanceof InvalidArgumentError, String(err));
        assert.match(
          err.message,
          new RegExp(`manifest ${image.manifest.digest} has 1 layers but its config lists 2 diff_ids`),
        );
      },
      { documents: [image.manifest.digest, image.config.digest], ingest: 'none' },
    );
    await cleanPull();
  });

  test('a layer whose tar is not the diffID of the config: DataLoss naming both', async (t) => {
    const wrong = sha256(Buffer.from('not this tar'));
    const image = await imageFromTars(`${work}/diffid-wrong`, [tar], (config) => {
      config.rootfs.diff_ids[0] = wrong;
    });
    const { sb, ref, cleanPull } = await stored(t, image);
    await failingPull(
      sb,
      ref,
      (err) => {
        assert.ok(err instanceof DataLossError, String(err));
        assert.match(err.message, new RegExp(`diffID mismatch: expected ${wrong}, got ${sha256(tar)}`));
      },
      { layer: image.layers[0], documents: [image.manifest.digest, image.config.digest], ingest: 'none' },
    );
    await cleanPull();
  });
});
