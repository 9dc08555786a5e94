// User resolution inside a rootfs built in a temp directory: every user-string form, supplementary
// groups, HOME, ids refused outside 0 … 2^32-2 (CVE-2024-40635 class), symlinks kept inside the
// root, and bounded reads of huge or odd /etc/passwd and /etc/group files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { InvalidArgumentError, NotFoundError, ResourceExhaustedError } from '../../src/errdefs/index.ts';
import { generateSpec, resolveInRoot, resolveUser, withEnv, withUser } from '../../src/spec/index.ts';
import { tempDir } from '../harness/tmp.ts';

const PASSWD = `root:x:0:0:root:/root:/bin/sh
# a comment, then a blank line

daemon:x:1:1::/usr/sbin:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:100::/home/bob:/bin/sh
evil:x:4294967295:0::/:/bin/sh
wrap:x:4294967296:0::/:/bin/sh
neg:x:-1:0::/:/bin/sh
junk:x:abc:0::/:/bin/sh
+nis::::::
`;
const GROUP = `root:x:0:
wheel:x:10:alice,bob
users:x:100:
staff:x:50:alice
alice:x:1000:alice
`;

function rootfs(
  t: TestContext,
  files: Record<string, string> = { 'etc/passwd': PASSWD, 'etc/group': GROUP },
): string {
  const root = join(tempDir(t, 'spec-user'), 'rootfs');
  mkdirSync(join(root, 'etc'), { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const invalid = (re: RegExp) => (err: unknown) => err instanceof InvalidArgumentError && re.test(err.message);
const notFound = (re: RegExp) => (err: unknown) => err instanceof NotFoundError && re.test(err.message);

test('every user-string form', (t) => {
  const root = rootfs(t);
  const alice = { uid: 1000, gid: 1000, additionalGids: [1000, 10, 50], home: '/home/alice' };
  assert.deepEqual(resolveUser(root, 'alice'), alice);
  assert.deepEqual(resolveUser(root, '1000'), alice);
  assert.deepEqual(resolveUser(root, 'alice:users'), { ...alice, gid: 100, additionalGids: [100, 10, 50] });
  assert.deepEqual(resolveUser(root, 'alice:5'), { ...alice, gid: 5, additionalGids: [5, 10, 50] });
  assert.deepEqual(resolveUser(root, '1001:wheel'), {
    uid: 1001,
    gid: 10,
    additionalGids: [10],
    home: '/home/bob',
  });
  assert.deepEqual(resolveUser(root, '1000:1000'), alice);
  assert.deepEqual(resolveUser(root, '4242'), { uid: 4242, gid: 0, additionalGids: [0] });
  assert.deepEqual(resolveUser(root, ''), { uid: 0, gid: 0, additionalGids: [0], home: '/root' });
  assert.deepEqual(resolveUser(undefined, '7:8'), { uid: 7, gid: 8, additionalGids: [8] });
});

test('unknown names are NotFoundError naming the name and the file', (t) => {
  const root = rootfs(t);
  assert.throws(
    () => resolveUser(root, 'nobody'),
    notFound(/^user "nobody": not found in \/etc\/passwd of .*rootfs$/),
  );
  assert.throws(
    () => resolveUser(root, 'alice:nogroup'),
    notFound(/^group "nogroup": not found in \/etc\/group of /),
  );
  const empty = rootfs(t, {});
  assert.throws(() => resolveUser(empty, 'alice'), notFound(/^user "alice": .* has no \/etc\/passwd$/));
  assert.deepEqual(resolveUser(empty, '33'), { uid: 33, gid: 0, additionalGids: [0] });
});

test('ids outside 0 … 2^32-2 are refused in user strings and in the files', (t) => {
  const root = rootfs(t);
  for (const user of [
    '4294967295',
    '4294967296',
    '-1',
    '+5',
    '1:-1',
    '1:4294967295',
    '99999999999999999999',
  ]) {
    assert.throws(() => resolveUser(root, user), invalid(/is not an id in 0 … 4294967294/), user);
  }
  for (const user of ['evil', 'wrap', 'neg', 'junk']) {
    assert.throws(
      () => resolveUser(root, user),
      invalid(/^\/etc\/passwd in .*, line \d+: ".*" is not an id/),
      user,
    );
  }
  assert.throws(() => resolveUser(root, 'a:b:c'), invalid(/expected user\[:group\]/));
  assert.throws(() => resolveUser(root, 'al ice'), invalid(/is neither a name nor an id/));
  assert.throws(() => resolveUser(root, ':5'), invalid(/is neither a name nor an id/));
});

test('withUser sets process.user and HOME unless the env has one', async (t) => {
  const root = rootfs(t);
  const s = await generateSpec([withUser('alice')], { id: 'c', rootfs: root });
  assert.deepEqual(s.process?.user, { uid: 1000, gid: 1000, additionalGids: [1000, 10, 50] });
  assert.deepEqual(s.process?.env, ['HOME=/home/alice']);
  const h = await generateSpec([withEnv(['HOME=/x']), withUser('alice')], { id: 'c', rootfs: root });
  assert.deepEqual(h.process?.env, ['HOME=/x']);
});

test('an absolute symlink for /etc/passwd resolves inside the rootfs, never to the host file', (t) => {
  const root = rootfs(t, { 'etc/group': GROUP, 'etc/shadow': 'alice:x:2000:2000::/h:/bin/sh\n' });
  symlinkSync('/etc/shadow', join(root, 'etc/passwd'));
  assert.equal(resolveInRoot(root, '/etc/passwd'), join(root, 'etc/shadow'));
  assert.equal(resolveUser(root, 'alice').uid, 2000);
  const missing = rootfs(t, {});
  symlinkSync('/etc/hostname', join(missing, 'etc/passwd')); // exists on the host, not in the rootfs
  assert.throws(() => resolveUser(missing, 'root'), notFound(/has no \/etc\/passwd/));
});

test('relative symlinks with ../.. are clamped at the rootfs, for files and directories', (t) => {
  const root = rootfs(t, {
    'x/passwd': 'alice:x:3000:3000::/h:/bin/sh\n',
    'hostetc/group': 'g:x:77:alice\n',
  });
  symlinkSync('../../../../../../../../x/passwd', join(root, 'etc/passwd'));
  assert.equal(resolveInRoot(root, '/etc/passwd'), join(root, 'x/passwd'));
  assert.equal(resolveInRoot(root, '../../../etc/../../x/passwd'), join(root, 'x/passwd'));
  assert.deepEqual(resolveUser(root, 'alice').uid, 3000);
  // A directory component that is a symlink climbing out: /etc → ../../../hostetc.
  const dirs = rootfs(t, {
    'hostetc/passwd': 'bob:x:4000:4000::/b:/bin/sh\n',
    'hostetc/group': 'g:x:77:bob\n',
  });
  symlinkSync('/hostetc', join(dirs, 'etc2'));
  assert.equal(resolveInRoot(dirs, '/etc2/passwd'), join(dirs, 'hostetc/passwd'));
  const up = rootfs(t, {
    'hostetc/passwd': 'bob:x:4000:4000::/b:/bin/sh\n',
    'hostetc/group': 'g:x:77:bob\n',
  });
  mkdirSync(join(up, 'lib'));
  symlinkSync('../../../../hostetc', join(up, 'lib/etc'));
  assert.equal(resolveInRoot(up, '/lib/etc/group'), join(up, 'hostetc/group'));
});

test('symlink loops stop after 40 hops', (t) => {
  const root = rootfs(t, {});
  symlinkSync('/etc/passwd', join(root, 'etc/passwd'));
  assert.throws(() => resolveUser(root, 'alice'), invalid(/more than 40 symbolic links/));
});

test('a huge /etc/group or one with too many lines is refused, not read whole', (t) => {
  const big = rootfs(t, { 'etc/passwd': PASSWD, 'etc/group': `g:x:5:${'alice,'.repeat(200_000)}\n` });
  assert.throws(
    () => resolveUser(big, 'alice'),
    (err: unknown) => {
      assert.ok(err instanceof ResourceExhaustedError, String(err));
      assert.match(err.message, /^\/etc\/group in .* is \d+ bytes, over the limit of 1048576 bytes$/);
      return true;
    },
  );
  const many = rootfs(t, { 'etc/passwd': PASSWD, 'etc/group': 'g:x:5:\n'.repeat(70_000) });
  assert.throws(
    () => resolveUser(many, 'alice'),
    (err: unknown) => err instanceof ResourceExhaustedError && /70001 lines/.test(err.message),
  );
});

test('a directory or FIFO at /etc/passwd is refused as not a regular file', (t) => {
  const dir = rootfs(t, {});
  mkdirSync(join(dir, 'etc/passwd'));
  assert.throws(() => resolveUser(dir, 'alice'), invalid(/\/etc\/passwd in .*: not a regular file/));
  const fifo = rootfs(t, {});
  if (spawnSync('mkfifo', [join(fifo, 'etc/passwd')]).status !== 0) return t.skip('mkfifo not available');
  assert.throws(() => resolveUser(fifo, 'alice'), invalid(/not a regular file/));
});
