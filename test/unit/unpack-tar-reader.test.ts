import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pack } from 'tar-stream';
import { DataLossError, InvalidArgumentError } from '../../src/errdefs/index.ts';
import type { PaxRecords } from '../../src/unpack/pax.ts';
import { parseTarNumber, type TarHeader, TarReader } from '../../src/unpack/tar-reader.ts';

async function tarOf(
  entries: { name: string; content: string; pax?: Record<string, string>; type?: 'directory' }[],
): Promise<Buffer> {
  const p = pack();
  for (const e of entries) p.entry({ name: e.name, pax: e.pax ?? null, type: e.type ?? 'file' }, e.content);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Seen {
  header: TarHeader;
  pax: PaxRecords | undefined;
  data: string;
  ended: boolean;
}

/** Feeds `tar` in `step`-byte pieces; returns the reader and what it handed out. */
function read(tar: Buffer, step: number): { reader: TarReader; seen: Seen[] } {
  const seen: Seen[] = [];
  const reader = new TarReader((header, pax) => {
    const s: Seen = { header, pax, data: '', ended: false };
    seen.push(s);
    return {
      write: (chunk) => {
        s.data += Buffer.from(chunk).toString();
      },
      end: () => {
        s.ended = true;
      },
    };
  });
  for (let i = 0; i < tar.length; i += step) reader.push(tar.subarray(i, i + step));
  return { reader, seen };
}

test('reads a tar in any chunking: headers, data, end-of-archive marker', async () => {
  const tar = await tarOf([
    { name: 'a', content: 'x'.repeat(700) },
    { name: 'b', content: '' },
    { name: 'd/', content: '', type: 'directory' },
  ]);
  for (const step of [1, 7, 512, 100000]) {
    const { reader, seen } = read(tar, step);
    reader.finish();
    assert.deepEqual(
      seen.map((s) => [s.header.name, s.header.type, s.header.offset, s.header.size, s.data.length, s.ended]),
      [
        ['a', 'file', 0, 700, 700, true],
        ['b', 'file', 1536, 0, 0, true],
        ['d/', 'directory', 2048, 0, 0, true],
      ],
    );
    assert.equal(reader.entries, 3);
  }
});

test('hands the PAX records of an entry to it, and applies path and size', async () => {
  const long = `${'d'.repeat(150)}/${'f'.repeat(120)}`;
  const tar = await tarOf([
    { name: 'a', content: 'x', pax: { 'SCHILY.xattr.user.k': 'v' } },
    { name: long, content: 'y' },
  ]);
  const { reader, seen } = read(tar, 300);
  reader.finish();
  assert.equal(seen[0]?.pax?.get('SCHILY.xattr.user.k')?.toString(), 'v');
  assert.equal(seen[1]?.header.name, long);
  assert.equal(seen[1]?.data, 'y');
});

test('a tar cut at an entry boundary or inside an entry is truncated (DataLoss)', async () => {
  const tar = await tarOf([{ name: 'a', content: 'x' }]);
  assert.throws(
    () => read(tar.subarray(0, 1024), 512).reader.finish(),
    (err: unknown) => err instanceof DataLossError && /end-of-archive/.test(err.message),
  );
  assert.throws(() => read(tar.subarray(0, 1536), 512).reader.finish(), DataLossError);
  assert.throws(
    () => read(tar.subarray(0, 700), 512).reader.finish(),
    (err: unknown) => err instanceof DataLossError && /inside an entry/.test(err.message),
  );
});

test('a header after the end-of-archive marker is refused', async () => {
  const first = await tarOf([{ name: 'a', content: 'x' }]);
  const second = await tarOf([{ name: 'evil', content: 'y' }]);
  assert.throws(
    () => read(Buffer.concat([first, second]), 4096),
    (err: unknown) =>
      err instanceof InvalidArgumentError && /follows the end-of-archive marker/.test(err.message),
  );
});

test('a header with a bad checksum or no ustar magic is corrupt', async () => {
  const tar = await tarOf([{ name: 'a', content: 'x' }]);
  const bad = Buffer.from(tar);
  bad[0] = 0x62; // the name changes, the checksum does not
  assert.throws(() => read(bad, 512), /bad header checksum at byte 0/);
  const gz = Buffer.alloc(1024, 0x1f);
  assert.throws(() => read(gz, 512), DataLossError);
});

test('parseTarNumber reads octal and GNU base-256 fields', () => {
  const buf = Buffer.alloc(12);
  buf.write('0000644\0', 0, 'latin1');
  assert.equal(parseTarNumber(buf, 0, 8), 0o644);
  const spaced = Buffer.from('  644 \0', 'latin1');
  assert.equal(parseTarNumber(spaced, 0, spaced.length), 0o644);
  const big = Buffer.alloc(12);
  big[0] = 0x80;
  big.writeUIntBE(2 ** 40, 6, 6);
  assert.equal(parseTarNumber(big, 0, 12), 2 ** 40);
});
