import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataLossError, InvalidArgumentError } from '../../src/errdefs/index.ts';
import { MediaType } from '../../src/oci/image/index.ts';
import { classifyWhiteout, normalizeEntryName } from '../../src/unpack/entry-path.ts';
import { layerCompression } from '../../src/unpack/index.ts';
import { parsePaxRecords, paxMetadata } from '../../src/unpack/pax.ts';
import { fromWire, toWire } from '../../src/unpack/wire.ts';

test('normalizeEntryName cleans names and makes absolute ones relative', () => {
  assert.equal(normalizeEntryName('a/b/c'), 'a/b/c');
  assert.equal(normalizeEntryName('./a//b/./c/'), 'a/b/c');
  assert.equal(normalizeEntryName('/abs'), 'abs');
  assert.equal(normalizeEntryName('///etc/passwd'), 'etc/passwd');
  assert.equal(normalizeEntryName('a/../b'), 'b');
  assert.equal(normalizeEntryName('./'), '');
  assert.equal(normalizeEntryName('.'), '');
});

test('normalizeEntryName refuses names that escape, naming the entry', () => {
  for (const name of ['..', '../x', '../../etc/x', 'a/../../x', '/../x', 'a/b/../../../x']) {
    assert.throws(
      () => normalizeEntryName(name),
      (err: unknown) =>
        err instanceof InvalidArgumentError &&
        err.message.includes(JSON.stringify(name)) &&
        err.message.includes('escapes the target'),
      name,
    );
  }
  assert.throws(() => normalizeEntryName('a\0b'), InvalidArgumentError);
});

test('classifyWhiteout recognises whiteouts, opaque markers and AUFS metadata', () => {
  assert.deepEqual(classifyWhiteout('a/b', 'a/b'), { kind: 'none' });
  assert.deepEqual(classifyWhiteout('a/.wh.b', 'a/.wh.b'), { kind: 'whiteout', rel: 'a/b' });
  assert.deepEqual(classifyWhiteout('.wh.b', '.wh.b'), { kind: 'whiteout', rel: 'b' });
  assert.deepEqual(classifyWhiteout('a/.wh..wh..opq', 'a/.wh..wh..opq'), { kind: 'opaque', dir: 'a' });
  assert.deepEqual(classifyWhiteout('.wh..wh..opq', '.wh..wh..opq'), { kind: 'opaque', dir: '' });
  assert.deepEqual(classifyWhiteout('.wh..wh.plnk', '.wh..wh.plnk'), { kind: 'meta' });
});

test('classifyWhiteout refuses whiteouts of "", "." and ".."', () => {
  for (const name of ['.wh.', 'a/.wh..', 'a/.wh...', '.wh...']) {
    assert.throws(
      () => classifyWhiteout(normalizeEntryName(name), name),
      (err: unknown) => err instanceof InvalidArgumentError && err.message.includes(JSON.stringify(name)),
      name,
    );
  }
});

test('layerCompression maps every layer media type and refuses others', () => {
  assert.equal(layerCompression(MediaType.ociLayer), 'none');
  assert.equal(layerCompression(MediaType.ociLayerGzip), 'gzip');
  assert.equal(layerCompression(MediaType.ociLayerZstd), 'zstd');
  assert.equal(layerCompression(MediaType.ociLayerNondistributableGzip), 'gzip');
  assert.equal(layerCompression(MediaType.dockerLayerGzip), 'gzip');
  assert.equal(layerCompression(MediaType.dockerForeignLayerGzip), 'gzip');
  assert.equal(layerCompression(MediaType.dockerLayer), 'none');
  assert.throws(() => layerCompression(MediaType.ociConfig), InvalidArgumentError);
  assert.throws(() => layerCompression('application/x-tar+bzip2'), InvalidArgumentError);
});

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

test('parsePaxRecords keeps binary values byte-exact', () => {
  const cap = Buffer.from('0100000280200000000000000000000000000000', 'hex');
  const data = Buffer.concat([
    paxRecord('path', Buffer.from('ü/long')),
    paxRecord('SCHILY.xattr.security.capability', cap),
    paxRecord('mtime', Buffer.from('1700000000.5')),
    paxRecord('uid', Buffer.from('3000000')),
  ]);
  const records = parsePaxRecords(data, 0);
  assert.deepEqual(records.get('SCHILY.xattr.security.capability'), cap);
  assert.equal(records.get('path')?.toString(), 'ü/long');
  const meta = paxMetadata(records, 'x');
  assert.equal(meta.mtime, 1700000000.5);
  assert.equal(meta.uid, 3000000);
  assert.deepEqual(meta.xattrs, [['security.capability', cap]]);
});

test('parsePaxRecords refuses malformed records; paxMetadata refuses non-numeric times', () => {
  assert.throws(() => parsePaxRecords(Buffer.from('99 path=x\n'), 0), InvalidArgumentError);
  assert.throws(() => parsePaxRecords(Buffer.from('9 pathx\n'), 0), InvalidArgumentError);
  const bad = parsePaxRecords(paxRecord('mtime', Buffer.from('soon')), 0);
  assert.throws(() => paxMetadata(bad, 'x'), InvalidArgumentError);
});

test('errors cross the worker boundary as plain data and come back as their class', () => {
  const back = fromWire(structuredClone(toWire(new DataLossError('digest mismatch', { hint: 'h' }))));
  assert.ok(back instanceof DataLossError);
  assert.equal(back.message, 'digest mismatch');
  assert.equal(back.hint, 'h');
  const enospc = Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' });
  assert.equal(fromWire(toWire(enospc)).code, 'ResourceExhausted');
  assert.equal(fromWire(toWire(new Error('boom'))).code, 'Internal');
});
