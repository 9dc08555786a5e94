// Image reference parsing, with cases taken from distribution/reference's own test tables
// (reference_test.go, normalize_test.go) and the normalisation Docker users rely on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../src/errdefs/index.ts';
import {
  familiarName,
  formatReference,
  manifestTarget,
  parseReference,
  parseReferenceParts,
  type Reference,
  repository,
} from '../../src/reference/index.ts';

const sha256 = `sha256:${'f'.repeat(64)}`;
const sha512 = `sha512:${'f'.repeat(128)}`;

// input → full normalised form, familiar form
const valid: [string, string, string][] = [
  ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
  ['user/repo', 'docker.io/user/repo:latest', 'user/repo:latest'],
  ['docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['docker.io/debian', 'docker.io/library/debian:latest', 'debian:latest'],
  ['index.docker.io/debian', 'docker.io/library/debian:latest', 'debian:latest'],
  ['index.docker.io/docker/docker', 'docker.io/docker/docker:latest', 'docker/docker:latest'],
  ['library/foo/bar', 'docker.io/library/foo/bar:latest', 'library/foo/bar:latest'],
  ['other/library', 'docker.io/other/library:latest', 'other/library:latest'],
  ['localhost/x', 'localhost/x:latest', 'localhost/x:latest'],
  ['localhost:5000/x:dev', 'localhost:5000/x:dev', 'localhost:5000/x:dev'],
  ['host:5000/repo:tag', 'host:5000/repo:tag', 'host:5000/repo:tag'],
  ['test-com:8080/foo', 'test-com:8080/foo:latest', 'test-com:8080/foo:latest'],
  // A port with no path is a tag: the name has no "/", so it has no host (reference_test.go).
  ['test.com:5000', 'docker.io/library/test.com:5000', 'test.com:5000'],
  ['192.168.1.1', 'docker.io/library/192.168.1.1:latest', '192.168.1.1:latest'],
  ['192.168.1.1:5000/repo:5050', '192.168.1.1:5000/repo:5050', '192.168.1.1:5000/repo:5050'],
  ['[2001:db8::1]/repo', '[2001:db8::1]/repo:latest', '[2001:db8::1]/repo:latest'],
  ['[2001:db8::1]:5000/repo:tag', '[2001:db8::1]:5000/repo:tag', '[2001:db8::1]:5000/repo:tag'],
  ['[::1]:5000/repo', '[::1]:5000/repo:latest', '[::1]:5000/repo:latest'],
  [
    'sub-dom1.foo.com/bar/baz/quux:some-long-tag',
    'sub-dom1.foo.com/bar/baz/quux:some-long-tag',
    'sub-dom1.foo.com/bar/baz/quux:some-long-tag',
  ],
  [
    'b.gcr.io/test.example.com/my-app:test.example.com',
    'b.gcr.io/test.example.com/my-app:test.example.com',
    'b.gcr.io/test.example.com/my-app:test.example.com',
  ],
  ['xn--n3h.com/myimage:xn--n3h.com', 'xn--n3h.com/myimage:xn--n3h.com', 'xn--n3h.com/myimage:xn--n3h.com'],
  ['foo/foo_bar.com:8080', 'docker.io/foo/foo_bar.com:8080', 'foo/foo_bar.com:8080'],
  ['lowercase:Uppercase', 'docker.io/library/lowercase:Uppercase', 'lowercase:Uppercase'],
  // An uppercase first component can only be a host, since paths are lowercase (normalize.go).
  ['Docker/docker', 'Docker/docker:latest', 'Docker/docker:latest'],
  ['docker---rules/docker', 'docker.io/docker---rules/docker:latest', 'docker---rules/docker:latest'],
  ['dock__er/docker', 'docker.io/dock__er/docker:latest', 'dock__er/docker:latest'],
  ['d/docker', 'docker.io/d/docker:latest', 'd/docker:latest'],
  [
    'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    'docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest',
    'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest',
  ],
  [
    `docker.io/${'1a3f'.repeat(16)}`,
    `docker.io/library/${'1a3f'.repeat(16)}:latest`,
    `${'1a3f'.repeat(16)}:latest`,
  ],
  [`repo@${sha256}`, `docker.io/library/repo@${sha256}`, `repo@${sha256}`],
  [`repo:tag@${sha256}`, `docker.io/library/repo:tag@${sha256}`, `repo:tag@${sha256}`],
  [
    `xn--7o8h.com/myimage:xn--7o8h.com@${sha512}`,
    `xn--7o8h.com/myimage:xn--7o8h.com@${sha512}`,
    `xn--7o8h.com/myimage:xn--7o8h.com@${sha512}`,
  ],
  [
    `busybox:${'t'.repeat(128)}`,
    `docker.io/library/busybox:${'t'.repeat(128)}`,
    `busybox:${'t'.repeat(128)}`,
  ],
  // Exactly 255 characters of domain/path: the longest name allowed.
  [
    `localhost/${'a/'.repeat(122)}a`,
    `localhost/${'a/'.repeat(122)}a:latest`,
    `localhost/${'a/'.repeat(122)}a:latest`,
  ],
];

for (const [input, full, familiar] of valid) {
  test(`parses ${input.length > 60 ? `${input.slice(0, 60)}…` : input}`, () => {
    const ref = parseReference(input);
    assert.equal(formatReference(ref), full);
    assert.equal(familiarName(ref), familiar);
    // Both printed forms parse back to the same reference.
    assert.deepEqual(parseReference(formatReference(ref)), ref);
    assert.deepEqual(parseReference(familiarName(ref)), ref);
  });
}

// input → the expected error message after `reference "<input>": `
const invalid: [string, RegExp][] = [
  ['', /^must not be empty$/],
  ['Busybox', /^repository name must be lowercase$/],
  ['Uppercase:tag', /^repository name must be lowercase$/],
  ['docker/Docker', /^repository name must be lowercase$/],
  ['docker.io/docker/Docker', /^repository name must be lowercase$/],
  ['test:5000/Uppercase/lowercase:tag', /^repository name must be lowercase$/],
  ['-docker', /^invalid path component "-docker"/],
  ['-docker/docker', /^invalid path component "-docker"/],
  ['docker-/docker', /^invalid path component "docker-"/],
  ['-docker-/docker', /^invalid path component "-docker-"/],
  ['____/____', /^invalid path component "____"/],
  ['_docker/_docker', /^invalid path component "_docker"/],
  // A first component with a "." is a host, so these fail as hosts; the same in a path fails there.
  ['dock..er/docker', /^invalid registry host "dock\.\.er"/],
  ['dock_.er/docker', /^invalid registry host "dock_\.er"/],
  ['dock-.er/docker', /^invalid registry host "dock-\.er"/],
  ['docker/dock..er', /^invalid path component "dock\.\.er"/],
  ['docker/dock_.er', /^invalid path component "dock_\.er"/],
  ['docker/dock-.er', /^invalid path component "dock-\.er"/],
  ['aa/asdf$$^/aa', /^invalid path component "asdf\$\$\^"/],
  ['docker///docker', /^repository path "docker\/\/\/docker" has an empty component$/],
  ['docker.io/docker///docker', /has an empty component$/],
  ['docker/', /^repository path "docker\/" has an empty component$/],
  ['https://github.com/docker/docker', /^invalid registry host "https:"/],
  ['-docker.io/docker/docker', /^invalid registry host "-docker.io"/],
  ['fc00::1:5000/debian', /^invalid registry host "fc00::1:5000"/],
  ['[fe80::1%eth0]:5000/debian', /^invalid registry host "\[fe80::1%eth0\]:5000"/],
  ['[2001:db8:3:4::192.0.2.33]:5000/debian', /^invalid registry host/],
  ['[fc00::1]', /^invalid tag "1\]"/],
  ['[fc00::1]:5000', /^invalid path component "\[fc00::1\]"/],
  [`${'1a3f'.repeat(16)}`, /is an image ID, not a repository name$/],
  [':justtag', /^missing repository name$/],
  [`@${sha256}`, /^missing repository name$/],
  ['busybox:', /^invalid tag "":/],
  ['busybox:-x', /^invalid tag "-x":/],
  ['busybox:a/b', /^invalid registry host "busybox:a"/],
  [`busybox:${'t'.repeat(129)}`, /^invalid tag "t+": longer than 128 characters$/],
  [
    'repo@sha256:ffffffffffffffffffffffffffffffffff',
    /^invalid digest "sha256:f+": sha256 needs 64 lowercase hex/,
  ],
  [`validname@invaliddigest:${'f'.repeat(64)}`, /^invalid digest .*unsupported algorithm "invaliddigest"/],
  ['repo@sha256:../../x', /^invalid digest "sha256:\.\.\/\.\.\/x"/],
  [`repo@sha256:${'F'.repeat(64)}`, /^invalid digest .*lowercase hex/],
  [`repo@${sha256}@${sha256}`, /^invalid digest/],
  [`repo@${sha256}:tag`, /^invalid digest/],
  [`${'a/'.repeat(128)}a:tag`, /^repository name 267 characters long, over the limit of 255$/],
  [`localhost/${'a/'.repeat(123)}a`, /^repository name 257 characters long, over the limit of 255$/],
  [
    `this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_${'x'.repeat(200)}/docker`,
    /over the limit of 255$/,
  ],
];

for (const [input, message] of invalid) {
  test(`refuses ${JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}…` : input)}`, () => {
    assert.throws(
      () => parseReference(input),
      (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError, String(err));
        const prefix = `reference ${JSON.stringify(input)}: `;
        assert.ok(err.message.startsWith(prefix), err.message);
        assert.match(err.message.slice(prefix.length), message);
        return true;
      },
    );
  });
}

test('the message for an uppercase name is exactly what the brief promises', () => {
  assert.throws(() => parseReference('Busybox'), {
    message: 'reference "Busybox": repository name must be lowercase',
  });
});

test('the parts of a reference: domain, path, tag, digest', () => {
  const cases: [string, Reference][] = [
    ['busybox', { domain: 'docker.io', path: 'library/busybox', tag: 'latest' }],
    ['localhost:5000/a/b:t', { domain: 'localhost:5000', path: 'a/b', tag: 't' }],
    [`x.io/r@${sha256}`, { domain: 'x.io', path: 'r', digest: sha256 }],
    [`x.io/r:v1@${sha256}`, { domain: 'x.io', path: 'r', tag: 'v1', digest: sha256 }],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseReference(input), want, input);
});

test('parseReferenceParts adds no default tag', () => {
  assert.deepEqual(parseReferenceParts('busybox'), { domain: 'docker.io', path: 'library/busybox' });
});

test('repository and manifestTarget: the digest wins for fetching, the tag stays for naming', () => {
  const both = parseReference(`busybox:1.36@${sha256}`);
  assert.equal(repository(both), 'docker.io/library/busybox');
  assert.equal(manifestTarget(both), sha256);
  assert.equal(familiarName(both), `busybox:1.36@${sha256}`);
  assert.equal(manifestTarget(parseReference('busybox:1.36')), '1.36');
  assert.equal(manifestTarget(parseReferenceParts('busybox')), 'latest');
});

test('familiarName keeps names on other registries and nested library paths whole', () => {
  const cases: [Reference, string][] = [
    [{ domain: 'docker.io', path: 'library/ubuntu' }, 'ubuntu'],
    [{ domain: 'docker.io', path: 'library/foo/bar' }, 'library/foo/bar'],
    [{ domain: 'docker.io', path: 'fooo/bar' }, 'fooo/bar'],
    [{ domain: '127.0.0.1:8000', path: 'private/moonbase' }, '127.0.0.1:8000/private/moonbase'],
    [{ domain: 'example.com', path: 'library/x' }, 'example.com/library/x'],
  ];
  for (const [ref, want] of cases) assert.equal(familiarName(ref), want);
});
