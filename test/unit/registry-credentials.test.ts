import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { InvalidArgumentError, UnavailableError } from '../../src/errdefs/index.ts';
import { chainCredentials, dockerConfigCredentials, staticCredentials } from '../../src/registry/index.ts';
import { tempDir } from '../harness/tmp.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('auths: base64 auth, username/password, identitytoken, keys as hosts or URLs', async (t) => {
  const dir = tempDir(t, 'creds');
  const path = join(dir, 'config.json');
  writeFileSync(
    path,
    JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:pa:ss') },
        '127.0.0.1:5000': { username: 'u', password: 'p' },
        'https://quay.io/v1/': { identitytoken: 'refresh' },
        'ghcr.io': {},
      },
    }),
  );
  const get = dockerConfigCredentials(path);
  assert.deepEqual(await get('docker.io'), { username: 'hub', password: 'pa:ss' });
  assert.deepEqual(await get('127.0.0.1:5000'), { username: 'u', password: 'p' });
  assert.deepEqual(await get('quay.io'), { identityToken: 'refresh' });
  assert.equal(await get('ghcr.io'), undefined);
  assert.equal(await get('127.0.0.1:5001'), undefined);
  assert.equal(await dockerConfigCredentials(join(dir, 'absent.json'))('docker.io'), undefined);
  writeFileSync(path, '{');
  await assert.rejects(get('docker.io'), InvalidArgumentError);
});

test('credHelpers and credsStore run docker-credential-<name> get (a fake helper on PATH)', async (t) => {
  const dir = tempDir(t, 'credhelper');
  // The helper echoes what it read on stdin, so the test sees the server URL protocol too.
  const helper = join(dir, 'docker-credential-test');
  writeFileSync(
    helper,
    `#!/bin/sh
[ "$1" = get ] || exit 3
read -r server
case "$server" in
  https://index.docker.io/v1/) echo '{"ServerURL":"'"$server"'","Username":"hubuser","Secret":"hubsecret"}' ;;
  token.example) echo '{"ServerURL":"token.example","Username":"<token>","Secret":"refresh-123"}' ;;
  broken.example) echo 'boom' >&2; exit 2 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
`,
  );
  chmodSync(helper, 0o755);
  const oldPath = process.env.PATH;
  process.env.PATH = `${dir}${delimiter}${oldPath ?? ''}`;
  t.after(() => {
    process.env.PATH = oldPath;
  });
  const path = join(dir, 'config.json');
  writeFileSync(
    path,
    JSON.stringify({
      auths: { 'inline.example': { auth: b64('a:b') } },
      credHelpers: { 'token.example': 'test', 'missing.example': 'nosuchhelper' },
      credsStore: 'test',
    }),
  );
  const get = dockerConfigCredentials(path);
  assert.deepEqual(await get('docker.io'), { username: 'hubuser', password: 'hubsecret' });
  assert.deepEqual(await get('token.example'), { identityToken: 'refresh-123' });
  assert.deepEqual(await get('inline.example'), { username: 'a', password: 'b' });
  assert.equal(await get('unknown.example'), undefined);
  await assert.rejects(get('broken.example'), (err: unknown) => {
    assert.ok(err instanceof UnavailableError);
    assert.match(err.message, /docker-credential-test get broken.example exited 2: boom/);
    return true;
  });
  await assert.rejects(get('missing.example'), /docker-credential-nosuchhelper not found in PATH/);
});

test('explicit credentials take precedence and are only for their host', async () => {
  const chain = chainCredentials(
    staticCredentials('a.example', { username: 'x', password: 'y' }),
    async (h) => (h === 'a.example' || h === 'b.example' ? { username: 'file', password: 'f' } : undefined),
  );
  assert.deepEqual(await chain('a.example'), { username: 'x', password: 'y' });
  assert.deepEqual(await chain('b.example'), { username: 'file', password: 'f' });
  assert.equal(await chain('c.example'), undefined);
});
