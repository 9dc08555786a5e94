// Validation of the image-spec's documents, the manifest/index decision, schema 1 refusal, size
// limits, layer media types and parseDigest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError, ResourceExhaustedError } from '../../src/errdefs/index.ts';
import {
  checkSizeLimit,
  isDigest,
  isForeignLayer,
  isLayerMediaType,
  layerCompression,
  MAX_MANIFEST_SIZE,
  MediaType,
  parseDigest,
  parseManifestOrIndex,
  readLimited,
  validateDescriptor,
  validateImageConfig,
  validateIndex,
  validateManifest,
} from '../../src/oci/image/index.ts';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const layer = (c: string) => ({ mediaType: MediaType.ociLayerGzip, digest: d(c), size: 10 });
const manifest = () => ({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: d('c'), size: 2 },
  layers: [layer('1'), layer('2'), layer('3')],
});
const index = () => ({
  schemaVersion: 2,
  mediaType: MediaType.ociIndex,
  manifests: [
    { ...layer('a'), mediaType: MediaType.ociManifest, platform: { os: 'linux', architecture: 'amd64' } },
  ],
});
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
// An InvalidArgumentError whose message is `prefix` + `message` (or matches it after `prefix`).
const invalid =
  (message: string | RegExp, prefix = '') =>
  (err: unknown) => {
    assert.ok(err instanceof InvalidArgumentError, String(err));
    assert.ok(err.message.startsWith(prefix), err.message);
    if (typeof message === 'string') assert.equal(err.message, prefix + message);
    else assert.match(err.message.slice(prefix.length), message);
    return true;
  };

test('parseDigest accepts the canonical sha256 and sha512 forms', () => {
  assert.deepEqual(parseDigest(d('a')), { algorithm: 'sha256', encoded: 'a'.repeat(64) });
  assert.equal(parseDigest(`sha512:${'0'.repeat(128)}`).algorithm, 'sha512');
  assert.equal(isDigest(d('0')), true);
});

const badDigests: [string, RegExp][] = [
  ['', /missing "algorithm:" prefix/],
  ['a'.repeat(64), /missing "algorithm:" prefix/],
  [`md5:${'a'.repeat(32)}`, /unsupported algorithm "md5"/],
  [`SHA256:${'a'.repeat(64)}`, /unsupported algorithm "SHA256"/],
  [`sha256:${'A'.repeat(64)}`, /64 lowercase hex digits/],
  [`sha256:${'a'.repeat(63)}`, /64 lowercase hex digits/],
  [`sha256:${'a'.repeat(65)}`, /64 lowercase hex digits/],
  ['sha256:../../etc/passwd', /64 lowercase hex digits/],
  [`sha256:../${'a'.repeat(61)}`, /64 lowercase hex digits/],
  [`sha256:${'a'.repeat(63)}/`, /64 lowercase hex digits/],
  [`sha256:${'a'.repeat(64)}\n`, /64 lowercase hex digits/],
  [`sha512:${'a'.repeat(64)}`, /sha512 needs 128/],
];
for (const [input, reason] of badDigests) {
  test(`parseDigest refuses ${JSON.stringify(input.slice(0, 40))}`, () => {
    assert.throws(() => parseDigest(input, 'layer digest'), invalid(reason));
    assert.throws(() => parseDigest(input, 'layer digest'), invalid(/^layer digest "/));
    assert.equal(isDigest(input), false);
  });
}

test('a valid manifest comes back typed, unknown fields dropped, nulls read as absent', () => {
  const m = validateManifest({ ...manifest(), annotations: null, extra: { x: 1 } }, 'manifest');
  assert.deepEqual(m, manifest());
});

// Patches of the good manifest above → the message after "manifest sha256:x: ".
const cfg = (patch: object) => ({ config: { ...manifest().config, ...patch } });
const lay = (patch: object) => ({ layers: [layer('1'), layer('2'), { ...layer('3'), ...patch }] });
const manifestErrors: [object, string | RegExp][] = [
  [{ schemaVersion: 3 }, 'schemaVersion: expected 2, got 3'],
  [{ schemaVersion: undefined }, 'schemaVersion: expected 2, got undefined'],
  [lay({ digest: 'sha256:../../x' }), /^layers\[2\]\.digest: digest "sha256:\.\.\/\.\.\/x": sha256 needs 64/],
  [lay({ digest: `sha256:${'A'.repeat(64)}` }), /^layers\[2\]\.digest: digest "sha256:A+": sha256 needs 64/],
  [lay({ mediaType: '' }), 'layers[2].mediaType: must not be empty'],
  [lay({ urls: ['not a url'] }), 'layers[2].urls[0]: not a valid URL: "not a url"'],
  [{ config: undefined }, 'config: required field is missing'],
  [{ layers: {} }, 'layers: expected an array, got an object'],
  [cfg({ size: -1 }), 'config.size: expected a non-negative integer below 2^53, got number -1'],
  [cfg({ size: 1.5 }), 'config.size: expected a non-negative integer below 2^53, got number 1.5'],
  [cfg({ size: 2 ** 53 }), /^config\.size: expected a non-negative integer below 2\^53, got number 9007/],
  [cfg({ size: '2' }), 'config.size: expected a non-negative integer below 2^53, got string "2"'],
  [cfg({ platform: { architecture: 'amd64' } }), 'config.platform.os: required field is missing'],
  [
    cfg({ platform: { architecture: 'a', os: 'b', 'os.features': [1] } }),
    /^config\.platform\["os\.features"\]\[0\]: /,
  ],
  [cfg({ data: 'e30' }), 'config.data: not valid base64'],
  [cfg({ data: 'e30K' }), 'config.data: decodes to 3 bytes but size is 2'],
  [
    { mediaType: MediaType.ociIndex },
    /^mediaType: expected application\/vnd\.oci\.image\.manifest\.v1\+json or /,
  ],
  [{ annotations: { 'org.example.n': 1 } }, 'annotations["org.example.n"]: expected a string, got number 1'],
  [{ subject: { mediaType: 'x/y', size: 1 } }, 'subject.digest: required field is missing'],
];
for (const [patch, message] of manifestErrors) {
  test(`validateManifest names the field: ${String(message).slice(0, 60)}`, () => {
    const doc = { ...manifest(), ...patch };
    assert.throws(() => validateManifest(doc, 'manifest sha256:x'), invalid(message, 'manifest sha256:x: '));
  });
}

test('a manifest that is not an object is refused', () => {
  assert.throws(() => validateManifest([], 'm'), invalid('m: expected an object, got an array'));
});

test('descriptor data that matches its size, and artifact fields, are kept', () => {
  const desc = validateDescriptor({
    mediaType: MediaType.ociEmpty,
    digest: d('4'),
    size: 2,
    data: 'e30=',
    artifactType: 'a/b',
  });
  assert.equal(desc.data, 'e30=');
  assert.equal(desc.artifactType, 'a/b');
});

test('schemaVersion 1 is refused with the re-push advice', () => {
  assert.throws(
    () => validateManifest({ schemaVersion: 1, fsLayers: [] }, 'manifest m'),
    invalid(/^manifest m: Docker schema 1 images are not supported; re-push the image with a current client/),
  );
});

test('validateIndex checks every entry and names it', () => {
  assert.equal(validateIndex(index()).manifests.length, 1);
  const bad = index();
  bad.manifests.push({ ...bad.manifests[0]!, platform: { os: 'linux' } as never });
  assert.throws(
    () => validateIndex(bad, 'index sha256:i'),
    invalid('index sha256:i: manifests[1].platform.architecture: required field is missing'),
  );
  assert.throws(
    () => validateIndex({ schemaVersion: 2 }, 'index i'),
    invalid('index i: manifests: required field is missing'),
  );
  assert.throws(
    () => validateIndex({ ...index(), mediaType: MediaType.ociManifest }, 'index i'),
    invalid(/^index i: mediaType: expected /),
  );
});

const dockerConfig = () => ({
  architecture: 'amd64',
  os: 'linux',
  created: '2024-01-02T03:04:05.123456789Z',
  config: {
    Env: ['PATH=/bin'],
    Cmd: ['sh'],
    Entrypoint: null,
    Labels: null,
    Volumes: null,
    ExposedPorts: { '80/tcp': {} },
    OnBuild: null,
  },
  rootfs: { type: 'layers', diff_ids: [d('1'), d('2')] },
  history: [{ created: '2024-01-02T03:04:05Z', created_by: 'ADD x', empty_layer: false }],
  container_config: { Hostname: 'x' },
});

test('a Docker-written image config with its nulls validates', () => {
  const c = validateImageConfig(dockerConfig());
  assert.deepEqual(c.config, { Env: ['PATH=/bin'], Cmd: ['sh'], ExposedPorts: { '80/tcp': {} } });
  assert.equal(c.rootfs.diff_ids.length, 2);
  assert.equal('container_config' in c, false);
  // Docker omits an empty diff_ids (omitempty): a layerless image has none.
  assert.deepEqual(
    validateImageConfig({ ...dockerConfig(), rootfs: { type: 'layers' } }).rootfs.diff_ids,
    [],
  );
});

// Patches of the good config above → the message after "image config sha256:c: ".
const configErrors: [object, string | RegExp][] = [
  [{ architecture: undefined }, 'architecture: required field is missing'],
  [{ os: '' }, 'os: must not be empty'],
  [{ rootfs: { type: 'tar', diff_ids: [] } }, 'rootfs.type: expected "layers", got "tar"'],
  [
    { rootfs: { type: 'layers', diff_ids: [d('1'), 'sha256:abc'] } },
    /^rootfs\.diff_ids\[1\]: digest "sha256:abc"/,
  ],
  [{ config: { Env: 'A=1' } }, 'config.Env: expected an array, got string "A=1"'],
  [{ config: { Labels: { 'a.b': 1 } } }, 'config.Labels["a.b"]: expected a string, got number 1'],
  [
    { config: { ExposedPorts: { '80/tcp': true } } },
    'config.ExposedPorts["80/tcp"]: expected an object, got boolean true',
  ],
  [{ config: { ArgsEscaped: 1 } }, 'config.ArgsEscaped: expected true or false, got number 1'],
  [{ created: 'yesterday' }, 'created: expected an RFC 3339 date-time, got "yesterday"'],
  [{ history: [{ empty_layer: 'yes' }] }, 'history[0].empty_layer: expected true or false, got string "yes"'],
];
for (const [patch, message] of configErrors) {
  test(`validateImageConfig names the field: ${String(message).slice(0, 60)}`, () => {
    const doc = { ...dockerConfig(), ...patch };
    assert.throws(
      () => validateImageConfig(doc, 'image config sha256:c'),
      invalid(message, 'image config sha256:c: '),
    );
  });
}

test('parseManifestOrIndex decides by header, by mediaType field, or by the fields present', () => {
  const m = parseManifestOrIndex(json(manifest()), MediaType.ociManifest, 'm');
  assert.equal(m.kind, 'manifest');
  assert.equal(m.mediaType, MediaType.ociManifest);
  const i = parseManifestOrIndex(json(index()), undefined, 'i');
  assert.equal(i.kind, 'index');
  assert.equal(i.kind === 'index' && i.index.manifests.length, 1);
  const { mediaType: _m, ...bare } = index();
  const byFields = parseManifestOrIndex(json(bare), 'application/json; charset=utf-8', 'i');
  assert.deepEqual([byFields.kind, byFields.mediaType], ['index', MediaType.ociIndex]);
  const docker = parseManifestOrIndex(
    json({ ...manifest(), mediaType: MediaType.dockerManifest }),
    `${MediaType.dockerManifest}; charset=utf-8`,
    'm',
  );
  assert.deepEqual([docker.kind, docker.mediaType], ['manifest', MediaType.dockerManifest]);
});

const { ociIndex, ociManifest, ociLayerGzip, dockerSchema1Manifest, dockerSchema1SignedManifest } = MediaType;
// [what it is, document, Content-Type, message]
const parseErrors: [string, unknown, string | undefined, RegExp][] = [
  [
    'schema1 by header',
    { schemaVersion: 1 },
    dockerSchema1SignedManifest,
    /^m: Docker schema 1 images are not/,
  ],
  ['schema1 by schemaVersion', { schemaVersion: 1, fsLayers: [] }, 'application/json', /^m: Docker schema 1/],
  [
    'schema1 by mediaType field',
    { schemaVersion: 2, mediaType: dockerSchema1Manifest },
    undefined,
    /schema 1/,
  ],
  [
    'header and field disagree',
    manifest(),
    ociIndex,
    /^m: served as .*index.* but its mediaType field says .*manif/,
  ],
  ['ambiguous fields', { ...manifest(), manifests: [] }, undefined, /^m: has both "manifests" and "config"/],
  [
    'an index of layers',
    { ...manifest(), mediaType: undefined },
    ociIndex,
    /^m: declared an index but has the/,
  ],
  [
    'a manifest of manifests',
    { ...index(), mediaType: undefined },
    ociManifest,
    /^m: declared an image manifest/,
  ],
  [
    'a layer media type',
    manifest(),
    ociLayerGzip,
    /^m: unsupported media type "application\/vnd\.oci\.image\.layer/,
  ],
  ['nothing to go by', { schemaVersion: 2 }, undefined, /^m: neither an image manifest nor an index/],
  ['a JSON array', [], undefined, /^m: expected a JSON object$/],
];
for (const [name, doc, header, message] of parseErrors) {
  test(`parseManifestOrIndex refuses ${name}`, () => {
    assert.throws(() => parseManifestOrIndex(json(doc), header, 'm'), invalid(message));
  });
}

test('parseManifestOrIndex refuses bytes that are not UTF-8 JSON', () => {
  assert.throws(
    () => parseManifestOrIndex(new Uint8Array([0xff, 0xfe]), undefined, 'm'),
    invalid('m: not UTF-8 text'),
  );
  assert.throws(
    () => parseManifestOrIndex(json('x').subarray(1), undefined, 'm'),
    invalid(/^m: not valid JSON: /),
  );
});

test('oversize documents are refused before reading, and while reading', async () => {
  const exhausted = (re: RegExp) => (err: unknown) =>
    err instanceof ResourceExhaustedError && re.test(err.message);
  checkSizeLimit(MAX_MANIFEST_SIZE, MAX_MANIFEST_SIZE, 'm');
  checkSizeLimit(undefined, MAX_MANIFEST_SIZE, 'm');
  assert.equal(MAX_MANIFEST_SIZE, 4 * 1024 * 1024);
  assert.throws(
    () => checkSizeLimit(MAX_MANIFEST_SIZE + 1, MAX_MANIFEST_SIZE, 'manifest sha256:x'),
    exhausted(/^manifest sha256:x is 4194305 bytes, over the limit of 4194304 bytes$/),
  );
  assert.throws(
    () => parseManifestOrIndex(new Uint8Array(MAX_MANIFEST_SIZE + 1), undefined, 'm'),
    exhausted(/^m is 4194305/),
  );

  let pulled = 0;
  let closed = false;
  async function* body() {
    try {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield new Uint8Array(10).fill(i);
      }
    } finally {
      closed = true;
    }
  }
  await assert.rejects(
    readLimited(body(), 25, 'manifest m'),
    exhausted(/^manifest m is over the limit of 25 bytes; stopped reading$/),
  );
  assert.equal(pulled, 3);
  assert.equal(closed, true, 'the stream is closed when the limit is passed');
  const whole = await readLimited(body(), 1000, 'm');
  assert.equal(whole.byteLength, 1000);
  assert.deepEqual([whole[0], whole[10], whole[999]], [0, 1, 99]);
  assert.equal((await readLimited(body(), 1000, 'm')).byteLength, 1000, 'exactly at the limit is fine');
});

test('layer media types: compression and foreign layers', () => {
  const table: [string, 'none' | 'gzip' | 'zstd', boolean][] = [
    [MediaType.ociLayer, 'none', false],
    [MediaType.ociLayerGzip, 'gzip', false],
    [MediaType.ociLayerZstd, 'zstd', false],
    [MediaType.ociLayerNondistributable, 'none', true],
    [MediaType.ociLayerNondistributableGzip, 'gzip', true],
    [MediaType.ociLayerNondistributableZstd, 'zstd', true],
    [MediaType.dockerLayer, 'none', false],
    [MediaType.dockerLayerGzip, 'gzip', false],
    [MediaType.dockerLayerZstd, 'zstd', false],
    [MediaType.dockerForeignLayerGzip, 'gzip', true],
  ];
  for (const [mediaType, compression, foreign] of table) {
    assert.equal(layerCompression(mediaType), compression, mediaType);
    assert.equal(isForeignLayer(mediaType), foreign, mediaType);
    assert.equal(isLayerMediaType(mediaType), true, mediaType);
  }
  assert.throws(
    () => layerCompression(MediaType.ociConfig, 'layer 2 of manifest m'),
    invalid(
      /^layer 2 of manifest m: unsupported layer media type "application\/vnd\.oci\.image\.config\.v1\+json"/,
    ),
  );
  assert.throws(
    () => layerCompression('application/vnd.oci.image.layer.v1.tar+bzip2'),
    invalid(/^layer: unsupported layer media type/),
  );
  assert.equal(isForeignLayer('application/x-unknown'), false);
});
