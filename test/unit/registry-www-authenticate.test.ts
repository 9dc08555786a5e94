import assert from 'node:assert/strict';
import { test } from 'node:test';
import { challengesOf, parseWwwAuthenticate } from '../../src/registry/index.ts';

test('Bearer with quoted realm, service and a scope holding commas and colons', () => {
  const [c, ...rest] = parseWwwAuthenticate(
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push"',
  );
  assert.equal(rest.length, 0);
  assert.deepEqual(c, {
    scheme: 'bearer',
    params: {
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:library/busybox:pull,push',
    },
  });
});

test('Basic realm, case-insensitive scheme and parameter names, spaces around =', () => {
  assert.deepEqual(parseWwwAuthenticate('BASIC Realm = "berth test"'), [
    { scheme: 'basic', params: { realm: 'berth test' } },
  ]);
});

test('several challenges in one header, unquoted token values and escapes', () => {
  const got = parseWwwAuthenticate(
    'Basic realm="a, b", Bearer realm=https://x/token, error="insufficient_scope",scope="q\\"uote\\\\d"',
  );
  assert.deepEqual(got, [
    { scheme: 'basic', params: { realm: 'a, b' } },
    {
      scheme: 'bearer',
      params: { realm: 'https://x/token', error: 'insufficient_scope', scope: 'q"uote\\d' },
    },
  ]);
});

test('token68, empty list elements, schemes without parameters', () => {
  assert.deepEqual(parseWwwAuthenticate(', Negotiate YII==, ,Basic'), [
    { scheme: 'negotiate', params: {}, token68: 'YII==' },
    { scheme: 'basic', params: {} },
  ]);
});

test('malformed input never throws; an unterminated quote runs to the end', () => {
  assert.deepEqual(parseWwwAuthenticate('Bearer realm="https://x'), [
    { scheme: 'bearer', params: { realm: 'https://x' } },
  ]);
  assert.deepEqual(parseWwwAuthenticate(''), []);
  assert.doesNotThrow(() => parseWwwAuthenticate('=== ,,, "" @@'));
});

test('the first of a duplicated parameter wins; arrays of header values are all read', () => {
  assert.equal(parseWwwAuthenticate('Bearer realm="a",realm="b"')[0]?.params.realm, 'a');
  assert.deepEqual(
    challengesOf(['Basic realm="x"', 'Bearer realm="y"']).map((c) => c.scheme),
    ['basic', 'bearer'],
  );
  assert.deepEqual(challengesOf(undefined), []);
});
