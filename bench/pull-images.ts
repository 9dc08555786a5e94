// The test images of bench/pull.ts, built with berth's own image builder into OCI layouts under the
// bench work dir and reused by later runs (a recipe version in each layout says when to rebuild):
//   multi-gzip, multi-zstd  a `debootstrap --variant=minbase bookworm` tree (apt lists and caches left
//                           out, as Debian's container images do: ~115 MB) in 5 layers split by
//                           directory, so the layers differ in size and file count
//   many-files              50,000 files of 1–4 KiB in 2 layers, gzip
// Never committed: the layouts are ~100 MB each and the rootfs comes from the Debian mirror.

import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OciLayout } from '../src/content/index.ts';
import { type LayerEntry, writeImage, writeLayer } from '../src/imagebuild/index.ts';
import { hostPlatform, type LayerCompression } from '../src/oci/image/index.ts';

export type BenchImageName = 'multi-gzip' | 'multi-zstd' | 'many-files';
export const benchImageNames: readonly BenchImageName[] = ['multi-gzip', 'multi-zstd', 'many-files'];

export interface BenchLayer {
  digest: string;
  size: number;
  compression: LayerCompression;
}

export interface BenchImage {
  name: BenchImageName;
  layoutDir: string;
  layers: BenchLayer[];
  /** Bytes of regular files and the number of entries: what each contender writes. */
  uncompressedBytes: number;
  entries: number;
}

/** Bumped whenever what is built changes, so cached layouts from an older recipe are rebuilt. */
const recipeVersion = 3;
const tag = 'latest';
const manyFilesCount = 50_000;
const filesPerDir = 100;

/** The Debian tree: debootstrapped once into <work>/rootfs (renamed there only when complete). */
export function ensureRootfs(work: string, log: (line: string) => void): string {
  const rootfs = join(work, 'rootfs');
  if (existsSync(rootfs)) return rootfs;
  const partial = join(work, 'rootfs.partial');
  rmSync(partial, { recursive: true, force: true });
  log('debootstrap --variant=minbase bookworm (once; from the Debian mirror, ~30 s)');
  execFileSync('debootstrap', ['--variant=minbase', 'bookworm', partial, 'http://deb.debian.org/debian'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  renameSync(partial, rootfs);
  return rootfs;
}

/** Which of the 5 layers a path of the Debian tree goes to (relative path, no leading slash). */
function layerOf(rel: string): number {
  const under = (dir: string): boolean => rel === dir || rel.startsWith(`${dir}/`);
  if (under('usr/lib')) return 0;
  if (under('usr/share')) return 1;
  if (under('usr/bin') || under('usr/sbin')) return 2;
  if (under('var')) return 3;
  return 4;
}

/** Left out like Debian's own container images do: they are rebuilt by `apt-get update`. */
function excluded(rel: string): boolean {
  return (
    rel.startsWith('var/lib/apt/lists/') ||
    (rel.startsWith('var/cache/apt/') && rel.endsWith('.bin')) ||
    rel.startsWith('var/cache/apt/archives/')
  );
}

/** Linux's dev_t encoding (glibc gnu_dev_major/minor). */
function devMajor(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}
function devMinor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

interface Split {
  layers: LayerEntry[][];
  bytes: number;
  entries: number;
}

/** Walks the tree once; every entry keeps its real mode, owner and mtime. */
function splitRootfs(rootfs: string): Split {
  const layers: LayerEntry[][] = [[], [], [], [], []];
  // A hardlink may only name a file of its own layer (planEntries); per layer: inode → first path.
  const inodes: Map<number, string>[] = layers.map(() => new Map());
  let bytes = 0;
  let entries = 0;
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(rootfs, rel)).sort()) {
      const child = rel === '' ? name : `${rel}/${name}`;
      if (excluded(child)) continue;
      const st = lstatSync(join(rootfs, child));
      const i = layerOf(child);
      const layer = layers[i] as LayerEntry[];
      const meta = { path: `/${child}`, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
      entries++;
      if (st.isDirectory()) {
        layer.push({ type: 'dir', ...meta });
        walk(child);
      } else if (st.isFile()) {
        const seen = st.nlink > 1 ? inodes[i]?.get(st.ino) : undefined;
        if (seen !== undefined) {
          layer.push({ type: 'hardlink', path: `/${child}`, target: seen });
        } else {
          if (st.nlink > 1) inodes[i]?.set(st.ino, `/${child}`);
          layer.push({ type: 'file', ...meta, hostPath: join(rootfs, child) });
          bytes += st.size;
        }
      } else if (st.isSymbolicLink()) {
        layer.push({ type: 'symlink', ...meta, target: readlinkSync(join(rootfs, child)) });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const type = st.isCharacterDevice() ? 'char' : 'block';
        layer.push({ type, ...meta, major: devMajor(st.rdev), minor: devMinor(st.rdev) });
      } else if (st.isFIFO()) {
        layer.push({ type: 'fifo', ...meta });
      }
      // Sockets cannot be stored in a tar; a fresh debootstrap has none.
    }
  };
  walk('');
  return { layers, bytes, entries };
}

/** Cheap deterministic pseudo-random bytes (xorshift32), hex-encoded: gzip shrinks them to ~55 %. */
function hexNoise(size: number, seed: number): Buffer {
  const raw = Buffer.allocUnsafe(Math.ceil(size / 8) * 4);
  let x = seed | 1;
  for (let i = 0; i < raw.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    raw.writeInt32LE(x, i);
  }
  return Buffer.from(raw.toString('hex').slice(0, size), 'latin1');
}

function manyFilesLayers(): Split {
  // Unequal halves (30,000 and 20,000 files), like two real layers.
  const layers: LayerEntry[][] = [[], []];
  let bytes = 0;
  for (let i = 0; i < manyFilesCount; i++) {
    const layer = layers[i < 30_000 ? 0 : 1] as LayerEntry[];
    const dir = `/data/d${Math.floor(i / filesPerDir)}`;
    if (i % filesPerDir === 0) layer.push({ type: 'dir', path: dir });
    const size = 1024 + (((i * 2654435761) >>> 0) % 3073);
    layer.push({ type: 'file', path: `${dir}/f${i}`, content: hexNoise(size, i + 1) });
    bytes += size;
  }
  return { layers, bytes, entries: manyFilesCount + manyFilesCount / filesPerDir };
}

interface Built {
  recipe: number;
  image: BenchImage;
}

/** Builds (or reuses) one image's layout. */
async function buildImage(
  work: string,
  name: BenchImageName,
  split: () => Split,
  log: (line: string) => void,
): Promise<BenchImage> {
  const layoutDir = join(work, 'layouts', name);
  const marker = join(layoutDir, 'bench-image.json');
  if (existsSync(marker)) {
    const built = JSON.parse(readFileSync(marker, 'utf8')) as Built;
    if (built.recipe === recipeVersion) return built.image;
  }
  rmSync(layoutDir, { recursive: true, force: true });
  const t = performance.now();
  const { layers: entries, bytes, entries: count } = split();
  const compression: LayerCompression = name === 'multi-zstd' ? 'zstd' : 'gzip';
  const layout = await OciLayout.create(layoutDir);
  // All layers at once: zlib compresses on libuv's thread pool, so they overlap.
  const layers = await Promise.all(
    entries.map((e, i) => writeLayer(layout, e, { compression, createdBy: `bench ${name} layer ${i}` })),
  );
  const built = await writeImage(layout, {
    platform: hostPlatform(),
    layers,
    config: { Cmd: ['/bin/sh'] },
  });
  await layout.addManifest(built.manifest, tag);
  const image: BenchImage = {
    name,
    layoutDir,
    layers: layers.map((l) => ({ digest: l.digest, size: l.size, compression: l.compression })),
    uncompressedBytes: bytes,
    entries: count,
  };
  // Written last: a layout without it (an interrupted build) is rebuilt next time.
  await writeFile(marker, JSON.stringify({ recipe: recipeVersion, image } satisfies Built));
  log(
    `built ${name}: ${layers.length} layers, ${(bytes / 1e6).toFixed(0)} MB of files, ${(image.layers.reduce((n, l) => n + l.size, 0) / 1e6).toFixed(0)} MB ${compression}, in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  return image;
}

export async function ensureImages(work: string, log: (line: string) => void): Promise<BenchImage[]> {
  const rootfs = ensureRootfs(work, log);
  let split: Split | undefined;
  // The tree is walked once for both compressions.
  const debian = (): Split => {
    split ??= splitRootfs(rootfs);
    return split;
  };
  return [
    await buildImage(work, 'multi-gzip', debian, log),
    await buildImage(work, 'multi-zstd', debian, log),
    await buildImage(work, 'many-files', manyFilesLayers, log),
  ];
}

/** `oci:<layout>:<tag>` for skopeo. */
export function layoutReference(image: BenchImage): string {
  return `oci:${image.layoutDir}:${tag}`;
}
