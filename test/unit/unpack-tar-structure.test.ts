import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pack } from 'tar-stream';
import { DataLossError, InvalidArgumentError } from '../../src/errdefs/index.ts';
import { parseTarNumber, TarStructure } from '../../src/unpack/tar-structure.ts';

async function tarOf(
  entries: { name: string; content: string; pax?: Record<string, string> }[],
): Promise<Buffer> {
  const p = pack();
  for (const e of entries) p.entry({ name: e.name, pax: e.pax ?? null }, e.content);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Feeds `tar` in `step`-byte pieces, reporting entries at the offsets tar-stream would. */
function walk(tar: Buffer, entries: { offset: number; size: number }[], step: number): TarStructure {
  const s = new TarStructure();
  let next = 0;
  for (let i = 0; i < tar.length; i += step) {
    s.push(tar.subarray(i, i + step));
    while (next < entries.length && entries[next]!.offset + 512 <= i + step) {
      const e = entries[next++]!;
      s.entry(e.offset, e.size);
    }
  }
  return s;
}

test('walks a tar in any chunking and accepts its end-of-archive marker', async () => {
  const tar = await tarOf([
    { name: 'a', content: 'x'.repeat(700) },
    { name: 'b', content: '' },
  ]);
  const entries = [
    { offset: 0, size: 700 },
    { offset: 512 + 1024, size: 0 },
  ];
  for (const step of [1, 7, 512, 100000]) walk(tar, entries, step).finish();
});

test('hands the PAX records of an entry to it', async () => {
  const tar = await tarOf([{ name: 'a', content: 'x', pax: { 'SCHILY.xattr.user.k': 'v' } }]);
  const s = new TarStructure();
  s.push(tar.subarray(0, 1536));
  const records = s.entry(1024, 1);
  assert.equal(records?.get('SCHILY.xattr.user.k')?.toString(), 'v');
});

test('a tar cut at an entry boundary is truncated (DataLoss)', async () => {
  const tar = await tarOf([{ name: 'a', content: 'x' }]);
  const cut = walk(tar.subarray(0, 1024), [{ offset: 0, size: 1 }], 512);
  assert.throws(
    () => cut.finish(),
    (err: unknown) => err instanceof DataLossError && /end-of-archive/.test(err.message),
  );
  const half = walk(tar.subarray(0, 1536), [{ offset: 0, size: 1 }], 512);
  assert.throws(() => half.finish(), DataLossError);
});

test('a header after the end-of-archive marker is refused', async () => {
  const first = await tarOf([{ name: 'a', content: 'x' }]);
  const second = await tarOf([{ name: 'evil', content: 'y' }]);
  const tar = Buffer.concat([first, second]);
  const s = new TarStructure();
  s.push(tar.subarray(0, 1024));
  s.entry(0, 1);
  assert.throws(
    () => s.push(tar.subarray(1024)),
    (err: unknown) =>
      err instanceof InvalidArgumentError && /follows the end-of-archive marker/.test(err.message),
  );
});

test('an entry reported where the walker did not stop is refused as ambiguous', async () => {
  const tar = await tarOf([{ name: 'a', content: 'x' }]);
  const s = new TarStructure();
  s.push(tar);
  assert.throws(() => s.entry(512, 0), /ambiguous structure/);
});

test('parseTarNumber reads octal and GNU base-256 fields', () => {
  const buf = Buffer.alloc(12);
  buf.write('0000644\0', 0, 'latin1');
  assert.equal(parseTarNumber(buf, 0, 8), 0o644);
  const big = Buffer.alloc(12);
  big[0] = 0x80;
  big.writeUIntBE(2 ** 40, 6, 6);
  assert.equal(parseTarNumber(big, 0, 12), 2 ** 40);
});
