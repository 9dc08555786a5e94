// Real applies of layers built here with tar-stream (and by hand where tar-stream cannot write the
// format: GNU long names, binary PAX values), checked file by file; hostile layers checked against
// a canary directory next to the target; one overlayfs mount of two applied layers.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { type Header, pack } from 'tar-stream';
import { CanceledError, DataLossError, InvalidArgumentError } from '../../src/errdefs/index.ts';
import { mountAll, unmount } from '../../src/mount/index.ts';
import { MediaType } from '../../src/oci/image/index.ts';
import { type ApplyLayerOptions, type ApplyLayerResult, applyLayer } from '../../src/unpack/index.ts';
import { needs } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = needs('mknod', 'setfattr', 'getfattr');
const mtime = new Date('2024-01-02T03:04:05Z');
const epoch = mtime.getTime() / 1000;

type Spec = ({ name: string; content?: string | Buffer } & Partial<Header>) | { raw: Buffer };

/** A tar of the specs: tar-stream entries and raw blocks in order, then the end-of-archive marker. */
async function tarOf(specs: Spec[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const spec of specs) {
    if ('raw' in spec) {
      parts.push(spec.raw);
      continue;
    }
    const { content, ...header } = spec;
    const p = pack();
    p.entry({ mtime, ...header }, content ?? '');
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    const one = Buffer.concat(chunks);
    parts.push(one.subarray(0, one.length - 1024)); // tar-stream ends each pack with 1024 zero bytes
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A hand-made header (GNU magic), for what tar-stream cannot write. */
function rawEntry(name: string, typeflag: string, data: Buffer, linkname = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write(`${Math.floor(epoch).toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(typeflag, 156, 'latin1');
  h.write(linkname.slice(0, 100), 157, 'utf8');
  h.write('ustar  \0', 257, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const pad = (512 - (data.length % 512)) % 512;
  return Buffer.concat([h, data, Buffer.alloc(pad)]);
}

function paxRecord(key: string, value: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

const paxHeader = (records: [string, Buffer | string][]): Spec => ({
  raw: rawEntry('PaxHeaders/x', 'x', Buffer.concat(records.map(([k, v]) => paxRecord(k, v)))),
});

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

type Compression = 'gzip' | 'zstd' | 'none';
const mediaTypes = { gzip: MediaType.ociLayerGzip, zstd: MediaType.ociLayerZstd, none: MediaType.ociLayer };

function compress(tar: Buffer, c: Compression): Buffer {
  return c === 'gzip' ? gzipSync(tar) : c === 'zstd' ? zstdCompressSync(tar) : tar;
}

async function apply(
  tar: Buffer,
  target: string,
  opts: Partial<ApplyLayerOptions> & { compression?: Compression } = {},
): Promise<ApplyLayerResult> {
  const { compression = 'gzip', ...rest } = opts;
  const blob = compress(tar, compression);
  return applyLayer(Readable.from([blob]), {
    mediaType: mediaTypes[compression],
    digest: sha256(blob),
    size: blob.length,
    diffID: sha256(tar),
    target,
    whiteouts: 'apply',
    ...rest,
  });
}

const xattr = (path: string, name: string): string =>
  execFileSync('getfattr', [
    '-h',
    '--absolute-names',
    '-e',
    'hex',
    '--only-values',
    '-n',
    name,
    path,
  ]).toString('hex');

// security.capability v2 (linux/capability.h vfs_cap_data): cap_setuid + cap_net_raw, effective.
// Its bytes are not valid UTF-8 (0x80), which a string-decoding PAX reader would corrupt.
const capability = Buffer.from('0100000280200000000000000000000000000000', 'hex');

test('applies files, directories, links, devices, owners, modes, times and xattrs', { skip }, async (t) => {
  const target = tempDir(t, 'unpack');
  const tar = await tarOf([
    { name: 'etc/', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
    { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n', mode: 0o644 },
    { name: 'bin/suid', content: 'suid', mode: 0o4755, uid: 1000, gid: 1001 },
    { name: 'bin/sgid', content: 'sgid', mode: 0o2711, uid: 0, gid: 50 },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox', uid: 7, gid: 8 },
    { name: 'bin/abs', type: 'symlink', linkname: '/nowhere/at/all' },
    { name: 'bin/passwd-link', type: 'link', linkname: 'etc/passwd' },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/loop9', type: 'block-device', devmajor: 7, devminor: 9, mode: 0o660, gid: 6 },
    { name: 'run/fifo', type: 'fifo', mode: 0o600 },
    paxHeader([
      ['SCHILY.xattr.security.capability', capability],
      ['SCHILY.xattr.user.note', 'hello'],
      ['mtime', '1700000000.25'],
    ]),
    { name: 'bin/ping', content: 'ping', mode: 0o755 },
    { name: 'empty', content: '' },
  ]);
  const result = await apply(tar, target);
  assert.equal(result.diffID, sha256(tar));
  assert.equal(result.uncompressedSize, tar.length);
  assert.equal(result.entries, 13); // the PAX header is not an entry

  const st = (p: string) => lstatSync(join(target, p));
  assert.equal(readFileSync(join(target, 'etc/passwd'), 'utf8'), 'root:x:0:0::/root:/bin/sh\n');
  assert.equal(st('bin/suid').mode & 0o7777, 0o4755);
  assert.deepEqual([st('bin/suid').uid, st('bin/suid').gid], [1000, 1001]);
  assert.equal(st('bin/sgid').mode & 0o7777, 0o2711);
  assert.equal(st('bin/sgid').gid, 50);
  assert.equal(st('tmp').mode & 0o7777, 0o1777);
  assert.ok(st('tmp').isDirectory());
  assert.equal(readlinkSync(join(target, 'bin/sh')), 'busybox');
  assert.deepEqual([st('bin/sh').uid, st('bin/sh').gid], [7, 8]);
  assert.equal(readlinkSync(join(target, 'bin/abs')), '/nowhere/at/all');
  assert.equal(st('bin/passwd-link').ino, st('etc/passwd').ino);
  assert.equal(st('etc/passwd').nlink, 2);
  assert.ok(st('dev/null').isCharacterDevice());
  assert.equal(st('dev/null').rdev, (1 << 8) | 3);
  assert.equal(st('dev/null').mode & 0o7777, 0o666);
  assert.ok(st('dev/loop9').isBlockDevice());
  assert.equal(st('dev/loop9').rdev, (7 << 8) | 9);
  assert.equal(st('dev/loop9').gid, 6);
  assert.ok(st('run/fifo').isFIFO());
  assert.equal(xattr(join(target, 'bin/ping'), 'security.capability'), capability.toString('hex'));
  assert.equal(xattr(join(target, 'bin/ping'), 'user.note'), Buffer.from('hello').toString('hex'));
  assert.equal(st('bin/ping').mtimeMs, 1700000000250);
  assert.equal(st('empty').size, 0);
  for (const p of ['etc/passwd', 'bin/suid', 'etc', 'tmp', 'bin/sh', 'dev/null', 'run/fifo']) {
    assert.equal(st(p).mtimeMs, mtime.getTime(), p);
  }
});

test('long names: PAX over 100 and 255 bytes, GNU long names and long link names', { skip }, async (t) => {
  const target = tempDir(t, 'unpack');
  const long150 = `${'d'.repeat(60)}/${'f'.repeat(89)}`;
  const long300 = `${'a'.repeat(120)}/${'b'.repeat(120)}/${'c'.repeat(58)}`;
  const gnuName = `${'g'.repeat(100)}/${'n'.repeat(100)}`;
  const gnuLink = `${'l'.repeat(200)}/target`;
  const tar = await tarOf([
    { name: long150, content: 'pax 150' },
    { name: long300, content: 'pax 300' },
    { name: 'pax-link', type: 'symlink', linkname: `/${'t'.repeat(200)}` },
    { raw: rawEntry('././@LongLink', 'L', Buffer.from(`${gnuName}\0`)) },
    { raw: rawEntry(gnuName.slice(0, 99), '0', Buffer.from('gnu long name')) },
    { raw: rawEntry('././@LongLink', 'K', Buffer.from(`${gnuLink}\0`)) },
    { raw: rawEntry('gnu-link', '2', Buffer.alloc(0), gnuLink.slice(0, 99)) },
  ]);
  assert.ok(Buffer.byteLength(long300) > 255);
  await apply(tar, target, { compression: 'none' });
  assert.equal(readFileSync(join(target, long150), 'utf8'), 'pax 150');
  assert.equal(readFileSync(join(target, long300), 'utf8'), 'pax 300');
  assert.equal(readlinkSync(join(target, 'pax-link')), `/${'t'.repeat(200)}`);
  assert.equal(readFileSync(join(target, gnuName), 'utf8'), 'gnu long name');
  assert.equal(readlinkSync(join(target, 'gnu-link')), gnuLink);
});

test('zstd and Docker media types; leading "/" and "./" names land inside the target', {
  skip,
}, async (t) => {
  const tar = await tarOf([
    { name: '/abs/file', content: 'abs' },
    { name: './', type: 'directory', mode: 0o700 },
    { name: './dot/file', content: 'dot' },
  ]);
  for (const [compression, mediaType] of [
    ['zstd', MediaType.ociLayerZstd],
    ['gzip', MediaType.dockerLayerGzip],
    ['none', MediaType.dockerLayer],
  ] as const) {
    const target = tempDir(t, `unpack-${compression}`);
    await apply(tar, target, { compression, mediaType });
    assert.equal(readFileSync(join(target, 'abs/file'), 'utf8'), 'abs');
    assert.equal(readFileSync(join(target, 'dot/file'), 'utf8'), 'dot');
  }
});

test('apply mode: replaces files, keeps directories, swaps dir and non-dir, applies whiteouts', {
  skip,
}, async (t) => {
  const target = tempDir(t, 'unpack');
  await apply(
    await tarOf([
      { name: 'keep/', type: 'directory', mode: 0o755 },
      { name: 'keep/lower.txt', content: 'lower' },
      { name: 'file', content: 'old' },
      { name: 'was-file', content: 'file' },
      { name: 'was-dir/x', content: 'x' },
      { name: 'gone-dir/sub/y', content: 'y' },
      { name: 'gone.txt', content: 'gone' },
      { name: 'opq/old1', content: '1' },
      { name: 'opq/sub/old2', content: '2' },
      { name: 'link-target', content: 'shared' },
      { name: 'hard', type: 'link', linkname: 'link-target' },
    ]),
    target,
  );
  await apply(
    await tarOf([
      { name: 'keep/', type: 'directory', mode: 0o700, uid: 5 },
      { name: 'file', content: 'new' },
      { name: 'was-file/', type: 'directory' },
      { name: 'was-dir', type: 'symlink', linkname: 'elsewhere' },
      { name: '.wh.gone-dir', content: '' },
      { name: '.wh.gone.txt' },
      { name: 'opq/new', content: 'new' },
      { name: 'opq/.wh..wh..opq' },
      { name: 'hard', content: 'replaced' },
      { name: '.wh.never-existed' },
      { name: 'missing-dir/.wh.x' },
    ]),
    target,
  );
  assert.equal(readFileSync(join(target, 'keep/lower.txt'), 'utf8'), 'lower');
  assert.equal(statSync(join(target, 'keep')).mode & 0o7777, 0o700);
  assert.equal(statSync(join(target, 'keep')).uid, 5);
  assert.equal(readFileSync(join(target, 'file'), 'utf8'), 'new');
  assert.ok(lstatSync(join(target, 'was-file')).isDirectory());
  assert.equal(readlinkSync(join(target, 'was-dir')), 'elsewhere');
  assert.deepEqual(readdirSync(target).sort(), [
    'file',
    'hard',
    'keep',
    'link-target',
    'opq',
    'was-dir',
    'was-file',
  ]);
  assert.deepEqual(readdirSync(join(target, 'opq')), ['new']);
  // The replaced hardlink is a new file: the other name keeps the old content.
  assert.equal(readFileSync(join(target, 'link-target'), 'utf8'), 'shared');
  assert.equal(readFileSync(join(target, 'hard'), 'utf8'), 'replaced');
});

test('overlay mode writes 0/0 whiteout devices and the opaque xattr, no .wh. files', { skip }, async (t) => {
  const target = tempDir(t, 'unpack');
  await apply(
    await tarOf([{ name: 'd/.wh.gone' }, { name: 'o/.wh..wh..opq' }, { name: 'o/new', content: 'n' }]),
    target,
    {
      whiteouts: 'overlay',
    },
  );
  const wh = lstatSync(join(target, 'd/gone'));
  assert.ok(wh.isCharacterDevice());
  assert.equal(wh.rdev, 0);
  assert.equal(
    execFileSync('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', join(target, 'o')]).toString(),
    'y',
  );
  assert.deepEqual(readdirSync(join(target, 'd')), ['gone']);
  assert.deepEqual(readdirSync(join(target, 'o')), ['new']);
});

test('overlayfs merges two overlay-mode layers with their whiteouts and opaque dirs', { skip }, async (t) => {
  const dir = tempDir(t, 'unpack-ovl');
  const [l1, l2, upper, work, merged] = ['l1', 'l2', 'upper', 'work', 'merged'].map((n) => join(dir, n)) as [
    string,
    string,
    string,
    string,
    string,
  ];
  for (const d of [l1, l2, upper, work, merged]) mkdirSync(d);
  const overlay = { whiteouts: 'overlay' } as const;
  await apply(
    await tarOf([
      { name: 'd/keep', content: 'keep' },
      { name: 'd/gone', content: 'gone' },
      { name: 'o/old', content: 'old' },
      { name: 'top', content: 'v1' },
    ]),
    l1,
    overlay,
  );
  await apply(
    await tarOf([
      { name: 'd/.wh.gone' },
      { name: 'o/.wh..wh..opq' },
      { name: 'o/new', content: 'new' },
      { name: 'top', content: 'v2' },
    ]),
    l2,
    overlay,
  );
  await mountAll(
    [
      {
        type: 'overlay',
        source: 'overlay',
        options: [`lowerdir=${l2}:${l1}`, `upperdir=${upper}`, `workdir=${work}`],
      },
    ],
    merged,
  );
  // Unmounted here, not in t.after: after-hooks run in registration order, and tempDir's removal was
  // registered first (it would meet a busy mount).
  try {
    assert.deepEqual(readdirSync(join(merged, 'd')), ['keep']);
    assert.deepEqual(readdirSync(join(merged, 'o')), ['new']);
    assert.equal(readFileSync(join(merged, 'top'), 'utf8'), 'v2');
  } finally {
    await unmount(merged);
  }
});

/** A target with a sibling `outside/canary`; `unchanged()` asserts nothing outside the target moved. */
function sandbox(t: Parameters<typeof tempDir>[0]) {
  const base = tempDir(t, 'unpack-hostile');
  const target = join(base, 'target');
  const outside = join(base, 'outside');
  mkdirSync(target);
  mkdirSync(outside);
  writeFileSync(join(outside, 'canary'), 'canary');
  const view = () =>
    JSON.stringify({
      base: readdirSync(base).sort(),
      outside: readdirSync(outside).map((n) => {
        const s = lstatSync(join(outside, n));
        return [n, s.mode, s.uid, s.mtimeMs, s.nlink, readFileSync(join(outside, n), 'utf8')];
      }),
      passwd: (({ mode, uid, nlink, mtimeMs, size }) => [mode, uid, nlink, mtimeMs, size])(
        statSync('/etc/passwd'),
      ),
    });
  const before = view();
  return { target, outside, unchanged: () => assert.equal(view(), before) };
}

const hostile: {
  what: string;
  specs: (outside: string) => Spec[];
  message: RegExp;
  whiteouts?: 'overlay';
}[] = [
  {
    what: '../../etc/x',
    specs: () => [{ name: '../../etc/x', content: 'x' }],
    message: /"..\/..\/etc\/x".*escapes/,
  },
  {
    what: 'a/../../x',
    specs: () => [{ name: 'a/../../x', content: 'x' }],
    message: /"a\/..\/..\/x".*escapes/,
  },
  {
    what: '../outside/canary',
    specs: () => [{ name: '../outside/canary', content: 'pwned' }],
    message: /escapes/,
  },
  {
    what: 'symlinked parent',
    specs: (outside) => [
      { name: 'a', type: 'symlink', linkname: outside },
      { name: 'a/file', content: 'x' },
    ],
    message: /"a\/file".*"a" on its path is a symlink/,
  },
  {
    what: 'symlinked parent replacing a file',
    specs: (outside) => [
      { name: 'a', type: 'symlink', linkname: outside },
      { name: 'a/canary', content: 'pwned' },
    ],
    message: /symlink/,
  },
  {
    what: 'symlinked grandparent, relative link',
    specs: () => [
      { name: 'd/', type: 'directory' },
      { name: 'd/up', type: 'symlink', linkname: '../..' },
      { name: 'd/up/outside/new', content: 'x' },
    ],
    message: /"d\/up" on its path is a symlink/,
  },
  {
    what: 'hardlink to /etc/passwd',
    specs: () => [{ name: 'h', type: 'link', linkname: '/etc/passwd' }],
    message: /"h".*hardlink target "\/etc\/passwd" does not exist/,
  },
  {
    what: 'hardlink to ../outside',
    specs: () => [{ name: 'h', type: 'link', linkname: '../outside/canary' }],
    message: /"h".*escapes/,
  },
  {
    what: 'hardlink through a symlink',
    specs: (outside) => [
      { name: 'a', type: 'symlink', linkname: outside },
      { name: 'h', type: 'link', linkname: 'a/canary' },
    ],
    message: /"h".*"a" on its path is a symlink/,
  },
  { what: 'whiteout .wh...', specs: () => [{ name: '.wh...' }], message: /".wh..."/ },
  { what: 'whiteout a/.wh..', specs: () => [{ name: 'a/.wh..' }], message: /"a\/.wh.."/ },
  {
    what: 'whiteout through a symlink',
    specs: (outside) => [{ name: 'a', type: 'symlink', linkname: outside }, { name: 'a/.wh.canary' }],
    message: /"a\/.wh.canary".*symlink/,
  },
  {
    what: 'opaque through a symlink',
    specs: (outside) => [{ name: 'a', type: 'symlink', linkname: outside }, { name: 'a/.wh..wh..opq' }],
    message: /"a\/.wh..wh..opq".*symlink/,
  },
  {
    what: 'overlay whiteout through a symlink',
    specs: (outside) => [{ name: 'a', type: 'symlink', linkname: outside }, { name: 'a/.wh.new' }],
    message: /symlink/,
    whiteouts: 'overlay',
  },
  {
    what: 'trusted.overlay xattr',
    specs: () => [paxHeader([['SCHILY.xattr.trusted.overlay.redirect', '/x']]), { name: 'f', content: '' }],
    message: /trusted.overlay.redirect is reserved/,
  },
  {
    what: 'directory with data',
    specs: () => [{ raw: rawEntry('d/', '5', Buffer.from('not headers')) }],
    message: /directory entry carries 11 bytes/,
  },
];

for (const h of hostile) {
  test(`hostile layer refused: ${h.what}`, { skip }, async (t) => {
    const { target, outside, unchanged } = sandbox(t);
    const whiteouts = h.whiteouts ?? 'apply';
    await assert.rejects(apply(await tarOf(h.specs(outside)), target, { whiteouts }), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError, String(err));
      assert.match(err.message, h.message);
      return true;
    });
    unchanged();
  });
}

test('hostile layer refused: a lower layer symlink is not written through', { skip }, async (t) => {
  const { target, outside, unchanged } = sandbox(t);
  await apply(await tarOf([{ name: 'lib', type: 'symlink', linkname: outside }]), target);
  await assert.rejects(apply(await tarOf([{ name: 'lib/canary', content: 'pwned' }]), target), /symlink/);
  await assert.rejects(apply(await tarOf([{ name: 'lib/.wh.canary' }]), target), /symlink/);
  // Replacing the symlink itself is fine: it is an entry of the target.
  await apply(await tarOf([{ name: 'lib', content: 'file now' }]), target);
  unchanged();
});

test('hostile layer refused: entries after the end-of-archive marker', { skip }, async (t) => {
  const { target, unchanged } = sandbox(t);
  const tar = Buffer.concat([
    await tarOf([{ name: 'a', content: 'a' }]),
    await tarOf([{ name: 'evil', content: 'e' }]),
  ]);
  await assert.rejects(apply(tar, target), /follows the end-of-archive marker/);
  unchanged();
});

test('device nodes and whiteouts made in batches keep the order of the entries', { skip }, async (t) => {
  // Consecutive nodes and overlay whiteouts are made by one process before the next entry of
  // another kind (layer-applier.ts): every later entry must still see them as made in place.
  const target = tempDir(t, 'unpack');
  await apply(
    await tarOf([
      { name: 'dev/', type: 'directory', mode: 0o755 },
      { name: 'dev/zero', type: 'character-device', devmajor: 1, devminor: 5, mode: 0o600 },
      // The same name again: the first node is made so that the second replaces it.
      { name: 'dev/zero', type: 'character-device', devmajor: 1, devminor: 5, mode: 0o666, uid: 3 },
      { name: 'gone/.wh.a', uid: 5, gid: 6 },
      { name: 'gone/.wh.b' },
      { name: 'box/n1', type: 'fifo' },
      // A directory that holds a waiting node, replaced by a node: the fifo is made, then deleted.
      { name: 'box', type: 'character-device', devmajor: 1, devminor: 3 },
      // A hardlink to a node that was waiting: it exists by the time the link is made.
      { name: 'dev/zero-link', type: 'link', linkname: 'dev/zero' },
      { name: 'last', type: 'fifo', mode: 0o640 },
    ]),
    target,
    { whiteouts: 'overlay' },
  );
  const st = (p: string) => lstatSync(join(target, p));
  assert.ok(st('dev/zero').isCharacterDevice());
  assert.equal(st('dev/zero').mode & 0o7777, 0o666);
  assert.equal(st('dev/zero').uid, 3);
  assert.equal(st('dev/zero-link').ino, st('dev/zero').ino);
  for (const w of ['gone/a', 'gone/b']) {
    assert.ok(st(w).isCharacterDevice(), w);
    assert.equal(st(w).rdev, 0, w);
  }
  assert.deepEqual([st('gone/a').uid, st('gone/a').gid], [5, 6], 'a whiteout takes its entry’s owner');
  assert.ok(st('box').isCharacterDevice());
  assert.equal(st('box').rdev, (1 << 8) | 3);
  assert.ok(st('last').isFIFO(), 'the nodes at the end of the layer are made too');
  assert.equal(st('last').mode & 0o7777, 0o640);
  assert.equal(st('last').mtimeMs, mtime.getTime());
});

test('a waiting node on the path of a later entry is refused as a parent, not replaced', {
  skip,
}, async (t) => {
  for (const second of [
    { name: 'n/x', type: 'fifo' } as const,
    { name: 'n/.wh.x' } as const,
    { name: 'n/x', content: 'x' } as const,
  ]) {
    const target = tempDir(t, 'unpack');
    await assert.rejects(
      apply(await tarOf([{ name: 'n', type: 'fifo' }, second]), target, { whiteouts: 'overlay' }),
      (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError, String(err));
        assert.match(err.message, /"n" on its path is not a directory/);
        return true;
      },
    );
  }
});

test('device nodes are refused when the caller does not allow them', { skip }, async (t) => {
  const { target } = sandbox(t);
  const tar = await tarOf([{ name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 }]);
  await assert.rejects(apply(tar, target, { devices: false }), /"dev\/sda": device nodes are not allowed/);
});

test('corrupt, mismatched and truncated layers fail with DataLossError', { skip }, async (t) => {
  const tar = await tarOf([
    { name: 'a', content: 'a'.repeat(5000) },
    { name: 'b', content: 'b' },
  ]);
  const gz = gzipSync(tar);
  const run = (blob: Buffer, opts: Partial<ApplyLayerOptions>) =>
    applyLayer(Readable.from([blob]), {
      mediaType: MediaType.ociLayerGzip,
      target: tempDir(t, 'unpack'),
      whiteouts: 'apply',
      ...opts,
    });
  const corrupt = Buffer.from(gz);
  corrupt[30] = (corrupt[30] ?? 0) ^ 0xff;
  // Thunks: a rejected promise nobody awaits yet would count as an unhandled rejection.
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ['corrupt gzip', () => run(corrupt, {}), /corrupt gzip data|corrupt or truncated/],
    [
      'wrong digest',
      () => run(gz, { digest: sha256(Buffer.from('x')) }),
      /digest mismatch: expected sha256:.*, got sha256:/,
    ],
    ['wrong size', () => run(gz, { size: gz.length - 1 }), /longer than its descriptor's size/],
    ['short size', () => run(gz, { size: gz.length + 1 }), /size mismatch: expected \d+ bytes, read \d+/],
    [
      'wrong diffID',
      () => run(gz, { diffID: sha256(Buffer.from('y')) }),
      /diffID mismatch: expected sha256:.*, got sha256:/,
    ],
    ['truncated gzip', () => run(gz.subarray(0, gz.length - 10), {}), /corrupt gzip data/],
    [
      'tar truncated inside an entry',
      () => run(tar.subarray(0, 2048), { mediaType: MediaType.ociLayer }),
      /corrupt or truncated|truncated/,
    ],
    [
      'tar truncated at an entry boundary',
      () => run(tar.subarray(0, tar.length - 1024), { mediaType: MediaType.ociLayer }),
      /without the end-of-archive marker/,
    ],
  ];
  for (const [what, promise, message] of cases) {
    await assert.rejects(promise(), (err: unknown) => {
      assert.ok(err instanceof DataLossError, `${what}: ${String(err)}`);
      assert.match(err.message, message, what);
      return true;
    });
  }
});

test('unknown media types and missing targets are refused before any work', { skip }, async (t) => {
  const target = tempDir(t, 'unpack');
  const input = () => Readable.from([Buffer.alloc(0)]);
  await assert.rejects(
    applyLayer(input(), { mediaType: 'application/x-rar', target, whiteouts: 'apply' }),
    InvalidArgumentError,
  );
  await assert.rejects(
    applyLayer(input(), { mediaType: MediaType.ociLayer, target: join(target, 'nope'), whiteouts: 'apply' }),
    /no such directory/,
  );
});

test('abort mid-layer: CanceledError, and no write after the promise settles', { skip }, async (t) => {
  const target = tempDir(t, 'unpack');
  const specs: Spec[] = [];
  for (let i = 0; i < 400; i++) specs.push({ name: `f/${i}`, content: Buffer.alloc(32 * 1024, i) });
  const tar = await tarOf(specs);
  async function* slow() {
    for (let i = 0; i < tar.length; i += 64 * 1024) {
      yield tar.subarray(i, i + 64 * 1024);
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  const controller = new AbortController();
  // Abort once the worker has written a few files.
  const poll = setInterval(() => {
    const dir = join(target, 'f');
    if (lstatSync(dir, { throwIfNoEntry: false }) !== undefined && readdirSync(dir).length >= 5) {
      clearInterval(poll);
      controller.abort(new Error('test abort'));
    }
  }, 5);
  t.after(() => clearInterval(poll));
  await assert.rejects(
    applyLayer(Readable.from(slow()), {
      mediaType: MediaType.ociLayer,
      target,
      whiteouts: 'apply',
      signal: controller.signal,
    }),
    CanceledError,
  );
  const snapshot = () =>
    JSON.stringify(readdirSync(join(target, 'f')).map((n) => [n, statSync(join(target, 'f', n)).size]));
  const before = snapshot();
  assert.ok(JSON.parse(before).length < 400, 'the abort came before the end');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(snapshot(), before);
});
