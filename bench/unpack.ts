// Benchmark: berth's applyLayer against GNU `tar -xzf` on the same gzip layer, into the same
// journaled ext4 loop filesystem (tmpfs when no loop device can be set up). Needs root.
//   node bench/unpack.ts            50,000 files of 1–4 KiB in 500 directories
//   node bench/unpack.ts --big      one 300 MiB incompressible file: peak RSS must stay flat
// Prints wall times, their ratio and the process's peak RSS (process.resourceUsage().maxRSS).

import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { MediaType } from '../src/oci/image/index.ts';
import { applyLayer } from '../src/unpack/index.ts';

const big = process.argv.includes('--big');
const fileCount = 50_000;
const perDir = 100;
const bigSize = 300 * 1024 * 1024;

/** Cheap deterministic incompressible bytes (xorshift), so generation does not dominate. */
function noise(size: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(size + (4 - (size % 4)));
  let x = seed | 1;
  for (let i = 0; i < buf.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf.writeInt32LE(x, i);
  }
  return buf.subarray(0, size);
}

async function* entries(p: ReturnType<typeof pack>): AsyncGenerator<void> {
  const add = (header: Parameters<typeof p.entry>[0], data?: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (data === undefined) p.entry(header, done);
      else p.entry(header, data, done);
    });
  if (big) {
    const sink = p.entry({ name: 'big.bin', size: bigSize, mode: 0o644 });
    for (let i = 0; i < bigSize / (1024 * 1024); i++) {
      if (!sink.write(noise(1024 * 1024, i + 1)))
        await new Promise<void>((r) => sink.once('drain', () => r()));
    }
    const finished = new Promise<void>((r) => sink.once('finish', () => r()));
    sink.end(undefined); // streamx's typings want an argument
    await finished;
    yield;
    return;
  }
  for (let i = 0; i < fileCount; i++) {
    if (i % perDir === 0) await add({ name: `d${i / perDir}/`, type: 'directory', mode: 0o755 });
    await add(
      { name: `d${Math.floor(i / perDir)}/f${i}`, mode: 0o644 },
      noise(1024 + ((i * 37) % 3072), i + 1),
    );
    if (i % 1000 === 0) yield;
  }
}

async function writeLayer(path: string): Promise<void> {
  const p = pack();
  const producing = (async () => {
    for await (const _ of entries(p)) {
      // progress points only: let the consumer run
    }
    p.finalize();
  })();
  await Promise.all([
    pipeline(Readable.from(p), createGzip({ level: 1 }), createWriteStream(path)),
    producing,
  ]);
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/unpack.ts needs root (mount, chown)');
  const base = mkdtempSync(join(tmpdir(), 'berth-bench-unpack-'));
  const mnt = join(base, 'mnt');
  mkdirSync(mnt);
  let fsKind = 'ext4 (loop, journaled)';
  try {
    const img = join(base, 'fs.img');
    sh('truncate', ['-s', big ? '2G' : '3G', img]);
    try {
      sh('mkfs.ext4', ['-q', '-F', img]);
      sh('mount', ['-o', 'loop', img, mnt]);
    } catch (err) {
      process.stderr.write(`loop ext4 unavailable (${(err as Error).message.split('\n')[0]}); using tmpfs\n`);
      fsKind = 'tmpfs';
      sh('mount', ['-t', 'tmpfs', '-o', 'size=3G', 'tmpfs', mnt]);
    }
    const layer = join(base, 'layer.tar.gz');
    let t = performance.now();
    await writeLayer(layer);
    const size = Number(sh('stat', ['-c', '%s', layer]));
    console.log(
      `layer: ${big ? '1 file of 300 MiB' : `${fileCount} files of 1-4 KiB`}, ${(size / 1e6).toFixed(1)} MB gzip, built in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    console.log(`filesystem: ${fsKind}`);
    const rssBefore = process.resourceUsage().maxRSS;

    mkdirSync(join(mnt, 'berth'));
    sh('sync', []);
    t = performance.now();
    const result = await applyLayer(createReadStream(layer), {
      mediaType: MediaType.ociLayerGzip,
      target: join(mnt, 'berth'),
      whiteouts: 'apply',
    });
    const berthMs = performance.now() - t;
    const rssAfter = process.resourceUsage().maxRSS;

    mkdirSync(join(mnt, 'tar'));
    sh('sync', []);
    t = performance.now();
    sh('tar', ['-xzf', layer, '-C', join(mnt, 'tar'), '--same-owner', '--same-permissions']);
    const tarMs = performance.now() - t;

    console.log(
      `berth applyLayer: ${(berthMs / 1000).toFixed(2)} s (${result.entries} entries, diffID ${result.diffID.slice(0, 19)}…)`,
    );
    console.log(`GNU tar -xzf:     ${(tarMs / 1000).toFixed(2)} s`);
    console.log(`ratio berth/tar:  ${(berthMs / tarMs).toFixed(2)}`);
    console.log(
      `peak RSS: ${(rssBefore / 1024).toFixed(0)} MiB before the apply, ${(rssAfter / 1024).toFixed(0)} MiB after (main thread + worker)`,
    );
  } finally {
    try {
      sh('umount', [mnt]);
    } catch (err) {
      process.stderr.write(`umount ${mnt}: ${(err as Error).message}\n`);
    }
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
