// Platform parsing, normalisation, the fallback order and choosing from an index, checked against
// containerd's platforms package behaviour (platforms_test.go, compare_test.go).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError, NotFoundError } from '../../src/errdefs/index.ts';
import {
  type Descriptor,
  formatPlatform,
  hostPlatform,
  type Index,
  MediaType,
  matchingManifests,
  normalizePlatform,
  type Platform,
  parsePlatform,
  platformMatcher,
  platformVector,
  selectManifest,
} from '../../src/oci/image/index.ts';

const amd64Host: Platform = { os: 'linux', architecture: 'amd64' };
const p = (s: string) => parsePlatform(s, amd64Host);

const parsed: [string, string][] = [
  ['linux/amd64', 'linux/amd64'],
  ['linux/x86_64', 'linux/amd64'],
  ['linux/x86-64', 'linux/amd64'],
  ['linux/amd64/v1', 'linux/amd64'],
  ['linux/amd64/v3', 'linux/amd64/v3'],
  ['Linux/AMD64', 'linux/amd64'],
  ['linux/arm64', 'linux/arm64'],
  ['linux/aarch64', 'linux/arm64'],
  ['linux/arm64/v8', 'linux/arm64'],
  ['linux/arm64/8', 'linux/arm64'],
  ['linux/arm64/v8.2', 'linux/arm64/v8.2'],
  ['linux/arm', 'linux/arm/v7'],
  ['linux/arm/7', 'linux/arm/v7'],
  ['linux/arm/v6', 'linux/arm/v6'],
  ['linux/arm/5', 'linux/arm/v5'],
  ['linux/armhf', 'linux/arm/v7'],
  ['linux/armel', 'linux/arm/v6'],
  ['linux/i386', 'linux/386'],
  ['linux/386', 'linux/386'],
  ['macos/arm64', 'darwin/arm64'],
  ['linux/s390x', 'linux/s390x'],
  ['linux/riscv64', 'linux/riscv64'],
  ['linux', 'linux/amd64'],
  ['arm64', 'linux/arm64'],
  ['aarch64', 'linux/arm64'],
  ['armhf', 'linux/arm/v7'],
  ['windows/amd64', 'windows/amd64'],
];
for (const [input, want] of parsed) {
  test(`parsePlatform ${input} → ${want}`, () => assert.equal(formatPlatform(p(input)), want));
}

test('parsePlatform reads os.version and os.features, %-escaped', () => {
  assert.deepEqual(p('windows(10.0.17763+win32k+a%2Bb)/amd64'), {
    os: 'windows',
    architecture: 'amd64',
    'os.version': '10.0.17763',
    'os.features': ['a+b', 'win32k'],
  });
});

test('a lone os takes the host architecture and variant, a lone architecture the host os', () => {
  assert.equal(
    formatPlatform(parsePlatform('linux', { os: 'linux', architecture: 'arm', variant: 'v6' })),
    'linux/arm/v6',
  );
  assert.equal(
    formatPlatform(parsePlatform('amd64', { os: 'freebsd', architecture: 'arm64' })),
    'freebsd/amd64',
  );
});

const badSpecifiers: [string, RegExp][] = [
  ['', /invalid os ""/],
  ['linux/', /invalid component ""/],
  ['/amd64', /invalid os ""/],
  ['linux/amd64/v8/x', /expected <os>\/<arch>\[\/<variant>\]/],
  ['linux/*', /wildcards are not supported/],
  ['plan10', /unknown operating system or architecture/],
  ['lin ux/amd64', /invalid os "lin ux"/],
  ['linux/am d64', /invalid component "am d64"/],
  ['windows(%zz)/amd64', /invalid %-escape in "%zz"/],
];
for (const [input, reason] of badSpecifiers) {
  test(`parsePlatform refuses ${JSON.stringify(input)}`, () => {
    assert.throws(
      () => p(input),
      (err: unknown) =>
        err instanceof InvalidArgumentError &&
        err.message.startsWith(`platform ${JSON.stringify(input)}: `) &&
        reason.test(err.message),
    );
  });
}

test('hostPlatform maps Node names to Go names', () => {
  const cases: [string, string, string | undefined, string][] = [
    ['linux', 'x64', undefined, 'linux/amd64'],
    ['linux', 'arm64', undefined, 'linux/arm64'],
    ['linux', 'arm64', 'v8', 'linux/arm64'],
    ['linux', 'arm', undefined, 'linux/arm/v7'],
    ['linux', 'arm', 'v6', 'linux/arm/v6'],
    ['linux', 'ia32', undefined, 'linux/386'],
    ['linux', 'ppc64', undefined, 'linux/ppc64le'],
    ['aix', 'ppc64', undefined, 'aix/ppc64'],
    ['linux', 's390x', undefined, 'linux/s390x'],
    ['win32', 'x64', undefined, 'windows/amd64'],
    ['darwin', 'arm64', undefined, 'darwin/arm64'],
  ];
  for (const [platform, arch, variant, want] of cases) {
    const host = variant === undefined ? { platform, arch } : { platform, arch, variant };
    assert.equal(formatPlatform(hostPlatform(host)), want, `${platform}/${arch}`);
  }
  assert.match(formatPlatform(hostPlatform()), /^[a-z]+\/[a-z0-9]+(\/v\d+)?$/);
});

test('normalizePlatform sorts and dedupes os.features and drops empty fields', () => {
  assert.deepEqual(
    normalizePlatform({
      os: 'Linux',
      architecture: 'aarch64',
      variant: 'V8',
      'os.version': '',
      'os.features': ['b', 'a', 'b'],
    }),
    { os: 'linux', architecture: 'arm64', 'os.features': ['a', 'b'] },
  );
  assert.equal(formatPlatform({ os: '', architecture: 'amd64' }), 'unknown');
});

const fallbacks: [string, string[]][] = [
  ['linux/arm64', ['linux/arm64', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
  ['linux/arm/v8', ['linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
  ['linux/arm/v7', ['linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
  ['linux/arm/v5', ['linux/arm/v5']],
  ['linux/amd64', ['linux/amd64', 'linux/386']],
  ['linux/amd64/v3', ['linux/amd64/v3', 'linux/amd64/v2', 'linux/amd64', 'linux/386']],
  [
    'linux/arm64/v8.2',
    [
      'linux/arm64/v8.2',
      'linux/arm64/v8.1',
      'linux/arm64',
      'linux/arm/v8',
      'linux/arm/v7',
      'linux/arm/v6',
      'linux/arm/v5',
    ],
  ],
  [
    'linux/arm64/v9.1',
    [
      'linux/arm64/v9.1',
      'linux/arm64/v9',
      'linux/arm64/v8.6',
      'linux/arm64/v8.5',
      'linux/arm64/v8.4',
      'linux/arm64/v8.3',
      'linux/arm64/v8.2',
      'linux/arm64/v8.1',
      'linux/arm64',
      'linux/arm/v8',
      'linux/arm/v7',
      'linux/arm/v6',
      'linux/arm/v5',
    ],
  ],
  ['linux/s390x', ['linux/s390x']],
];
for (const [input, want] of fallbacks) {
  test(`fallback order for ${input}`, () => {
    assert.deepEqual(platformVector(p(input)).map(formatPlatform), want);
  });
}

test('matching: arm64/v8 equals arm64, strict matching has no fallbacks, os.features must be offered', () => {
  const arm64 = platformMatcher(p('linux/arm64'));
  assert.equal(arm64.match({ os: 'linux', architecture: 'arm64', variant: 'v8' }), true);
  assert.equal(arm64.match({ os: 'linux', architecture: 'aarch64' }), true);
  assert.equal(arm64.match({ os: 'linux', architecture: 'arm', variant: 'v7' }), true);
  assert.equal(arm64.match({ os: 'linux', architecture: 'amd64' }), false);
  assert.equal(arm64.match({ os: 'windows', architecture: 'arm64' }), false);
  assert.equal(
    platformMatcher(p('linux/arm64'), { strict: true }).match({
      os: 'linux',
      architecture: 'arm',
      variant: 'v7',
    }),
    false,
  );
  assert.equal(
    platformMatcher(p('linux/arm/v6')).match({ os: 'linux', architecture: 'arm', variant: 'v7' }),
    false,
  );
  assert.equal(platformMatcher(p('linux/arm/v7')).match({ os: 'linux', architecture: 'arm' }), true);
  const plain = platformMatcher(p('windows/amd64'));
  assert.equal(plain.match({ os: 'windows', architecture: 'amd64', 'os.features': ['win32k'] }), false);
  assert.equal(
    platformMatcher(p('windows(+win32k)/amd64')).match({
      os: 'windows',
      architecture: 'amd64',
      'os.features': ['win32k'],
    }),
    true,
  );
  assert.equal(arm64.rank({ os: 'linux', architecture: 'arm', variant: 'v6' }), 3);
});

const entry = (platform: Platform | undefined, c: string, extra: Partial<Descriptor> = {}): Descriptor => ({
  mediaType: MediaType.ociManifest,
  digest: `sha256:${c.repeat(64)}`,
  size: 1,
  ...(platform === undefined ? {} : { platform }),
  ...extra,
});
const indexOf = (...manifests: Descriptor[]): Index => ({ schemaVersion: 2, manifests });
const attestation = entry({ os: 'unknown', architecture: 'unknown' }, 'e', {
  annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
});
const multi = indexOf(
  entry({ os: 'linux', architecture: 'amd64' }, '1'),
  entry({ os: 'linux', architecture: 'arm', variant: 'v6' }, '2'),
  entry({ os: 'linux', architecture: 'arm', variant: 'v7' }, '3'),
  entry({ os: 'linux', architecture: 'arm64', variant: 'v8' }, '4'),
  attestation,
);

test('selectManifest picks the exact platform first, then the best fallback', () => {
  const pick = (idx: Index, s: string) => selectManifest(idx, p(s)).digest.slice(7, 8);
  assert.equal(pick(multi, 'linux/amd64'), '1');
  assert.equal(pick(multi, 'linux/arm64'), '4');
  assert.equal(pick(multi, 'linux/arm/v7'), '3');
  assert.equal(pick(multi, 'linux/arm/v8'), '3');
  assert.equal(pick(multi, 'linux/arm/v6'), '2');
  const armOnly = indexOf(
    entry({ os: 'linux', architecture: 'arm', variant: 'v5' }, '5'),
    entry({ os: 'linux', architecture: 'arm', variant: 'v6' }, '6'),
  );
  assert.equal(pick(armOnly, 'linux/arm64'), '6');
  assert.deepEqual(
    matchingManifests(armOnly, platformMatcher(p('linux/arm64'))).map((d) => d.digest.slice(7, 8)),
    ['6', '5'],
  );
  const ties = indexOf(
    entry({ os: 'linux', architecture: 'amd64' }, '7'),
    entry({ os: 'linux', architecture: 'amd64' }, '8'),
  );
  assert.equal(pick(ties, 'linux/amd64'), '7', 'ties keep index order');
  assert.equal(pick(indexOf(entry({ os: 'linux', architecture: '386' }, '9')), 'linux/amd64'), '9');
});

test('an entry without a platform is taken last; artifacts without one are not', () => {
  const idx = indexOf(entry(undefined, 'a'), entry({ os: 'linux', architecture: 'arm', variant: 'v5' }, 'b'));
  assert.equal(selectManifest(idx, p('linux/arm64')).digest, `sha256:${'b'.repeat(64)}`);
  assert.equal(selectManifest(idx, p('linux/amd64')).digest, `sha256:${'a'.repeat(64)}`);
  const artifact = indexOf(entry(undefined, 'c', { artifactType: 'application/vnd.example.sig' }));
  assert.throws(() => selectManifest(artifact, p('linux/amd64'), 'index i'), {
    message: 'no manifest for linux/amd64 in index i; it names no platforms',
  });
});

test('NotFoundError lists what the index offers, without attestations', () => {
  const idx = indexOf(
    entry({ os: 'linux', architecture: 'amd64' }, '1'),
    entry({ os: 'linux', architecture: 'arm64', variant: 'v8' }, '2'),
    attestation,
  );
  const what = `index sha256:${'9'.repeat(64)}`;
  assert.throws(
    () => selectManifest(idx, p('linux/s390x'), what),
    (err: unknown) =>
      err instanceof NotFoundError &&
      err.message === `no manifest for linux/s390x in ${what}; it offers linux/amd64, linux/arm64/v8`,
  );
  assert.throws(() => selectManifest(multi, platformMatcher(p('linux/arm/v5'))), {
    message:
      'no manifest for linux/arm/v5 in index; it offers linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8',
  });
});
