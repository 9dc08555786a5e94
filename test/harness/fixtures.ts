// Test images built at test time from Debian's busybox-static (/bin/busybox, see scripts/install-deps):
// nothing downloaded, nothing committed. Each fixture is an OCI image layout directory tagged
// `latest`, readable by berth's layout reader and by skopeo as `oci:<layoutDir>:latest`, except
// `docker`: skopeo skips index.json entries of Docker media types, see writeDirTransportView.
//
//   single        1 gzip layer: busybox + applet symlinks, /etc/passwd, /etc/group, /tmp   (OCI)
//   multi         3 gzip layers: base, then /data and /opq files, then a whiteout, an opaque
//                 directory and an overwrite                                              (OCI)
//   zstd          multi with zstd layers                                                  (OCI)
//   uncompressed  single with a plain tar layer                                           (OCI)
//   docker        multi's blobs under Docker schema2 media types
//   multiarch     an OCI index: linux/amd64 and linux/arm64/v8 over the single layer
//
// Builds are deterministic (fixed mtimes and dates), so digests are the same on every run and
// machine with the same busybox. Layers with identical bytes are compressed once and copied.

import { createReadStream } from 'node:fs';
import { access, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { OciLayout } from '../../src/content/index.ts';
import { FailedPreconditionError, isErrno } from '../../src/errdefs/index.ts';
import {
  type BuiltImage,
  type BuiltLayer,
  type ImageFormat,
  type LayerEntry,
  writeImage,
  writeImageIndex,
  writeLayer,
} from '../../src/imagebuild/index.ts';
import type { Descriptor, ImageRunConfig, LayerCompression, Platform } from '../../src/oci/image/index.ts';

export type FixtureName = 'single' | 'multi' | 'zstd' | 'uncompressed' | 'docker' | 'multiarch';

export interface FixtureLayout {
  name: FixtureName;
  /** An OCI image layout directory. */
  layoutDir: string;
  /** The ref name in index.json: 'latest'. */
  tag: string;
  /** The top descriptor: a manifest; for 'multiarch' the index. */
  manifest: Descriptor;
  /** Layer descriptors of the (amd64) manifest. */
  layers: Descriptor[];
  configDigest: string;
}

export type Fixtures = Record<FixtureName, FixtureLayout>;

export const busyboxPath = '/bin/busybox';
export const fixtureTag = 'latest';

/** Applets linked to busybox in /bin (relative symlinks, so they also resolve inside a rootfs). */
// biome-ignore format: one list, not one line per applet
export const busyboxApplets = [
  'cat', 'chmod', 'cp', 'date', 'echo', 'env', 'false', 'grep', 'head', 'hostname', 'id', 'kill',
  'ln', 'ls', 'mkdir', 'mount', 'mv', 'ps', 'pwd', 'readlink', 'rm', 'sed', 'sh', 'sleep', 'stat',
  'tail', 'test', 'touch', 'true', 'uname', 'wc',
] as const;

export const fixtureConfig: ImageRunConfig = {
  Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  Cmd: ['sh'],
  WorkingDir: '/',
  Labels: { 'org.opencontainers.image.description': 'berth test fixture (busybox-static)' },
};

/** single's only layer and the first layer of multi, zstd, docker. */
export function baseLayerEntries(): LayerEntry[] {
  return [
    { type: 'dir', path: '/bin' },
    { type: 'file', path: '/bin/busybox', hostPath: busyboxPath, mode: 0o755 },
    ...busyboxApplets.map(
      (name): LayerEntry => ({ type: 'symlink', path: `/bin/${name}`, target: 'busybox' }),
    ),
    { type: 'dir', path: '/etc' },
    {
      type: 'file',
      path: '/etc/passwd',
      content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    },
    { type: 'file', path: '/etc/group', content: 'root:x:0:\nnobody:x:65534:\n' },
    { type: 'dir', path: '/root', mode: 0o700 },
    { type: 'dir', path: '/tmp', mode: 0o1777 },
  ];
}

/** multi's second layer: plain files, a directory to make opaque later, a hardlink, setuid, uid 1000. */
export function multiLayer2Entries(): LayerEntry[] {
  return [
    { type: 'file', path: '/data/a.txt', content: 'a v1\n' },
    { type: 'file', path: '/data/keep/x', content: 'x\n' },
    { type: 'file', path: '/data/gone.txt', content: 'gone\n' },
    { type: 'hardlink', path: '/data/keep/x-link', target: '/data/keep/x' },
    { type: 'file', path: '/data/suid', content: '#!/bin/sh\necho suid\n', mode: 0o4755 },
    { type: 'file', path: '/data/owned.txt', content: 'owned by 1000\n', uid: 1000, gid: 1000, mode: 0o640 },
    { type: 'dir', path: '/opq' },
    { type: 'file', path: '/opq/old1.txt', content: 'old 1\n' },
    { type: 'file', path: '/opq/old2.txt', content: 'old 2\n' },
  ];
}

/** multi's third layer: deletes /data/gone.txt, hides /opq's old files, overwrites /data/a.txt. */
export function multiLayer3Entries(): LayerEntry[] {
  return [
    { type: 'whiteout', path: '/data/gone.txt' },
    { type: 'opaque', path: '/opq' },
    { type: 'file', path: '/opq/new.txt', content: 'new\n' },
    { type: 'file', path: '/data/a.txt', content: 'a v2\n' },
  ];
}

/** The platform the host's busybox runs on (image-spec config.md GOARCH names). */
export function hostPlatform(): Platform {
  if (process.arch === 'x64') return { architecture: 'amd64', os: 'linux' };
  if (process.arch === 'arm64') return { architecture: 'arm64', os: 'linux', variant: 'v8' };
  return { architecture: process.arch, os: 'linux' };
}

/** Builds all six fixtures, one layout directory each under `dir` (which must exist). */
export async function buildFixtures(dir: string): Promise<Fixtures> {
  try {
    await access(busyboxPath);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
    throw new FailedPreconditionError(`${busyboxPath}: missing; the fixture images are built from it`, {
      cause: err,
      hint: 'install busybox-static (scripts/install-deps)',
    });
  }
  const open = (name: FixtureName): Promise<OciLayout> => OciLayout.create(join(dir, name));
  const [single, multi, zstd, uncompressed, docker, multiarch] = await Promise.all([
    open('single'),
    open('multi'),
    open('zstd'),
    open('uncompressed'),
    open('docker'),
    open('multiarch'),
  ]);

  // Independent compressions run concurrently: zlib works in libuv's thread pool.
  const [base, l2, l3, zstdLayers, plain] = await Promise.all([
    writeLayer(single, baseLayerEntries(), { createdBy: 'busybox' }),
    writeLayer(multi, multiLayer2Entries(), { createdBy: 'data and opq files' }),
    writeLayer(multi, multiLayer3Entries(), { createdBy: 'whiteout, opaque dir, overwrite' }),
    buildMultiLayers(zstd, 'zstd'),
    writeLayer(uncompressed, baseLayerEntries(), { compression: 'none', createdBy: 'busybox' }),
  ]);
  await Promise.all([
    copyLayers(single, multi, [base]),
    copyLayers(single, docker, [base]),
    copyLayers(multi, docker, [l2, l3]),
    copyLayers(single, multiarch, [base]),
  ]);

  const fixtures = await Promise.all([
    tagImage('single', single, [base], 'oci'),
    tagImage('multi', multi, [base, l2, l3], 'oci'),
    tagImage('zstd', zstd, zstdLayers, 'oci'),
    tagImage('uncompressed', uncompressed, [plain], 'oci'),
    tagImage('docker', docker, [base, l2, l3], 'docker'),
    tagMultiarch(multiarch, base),
  ]);
  return Object.fromEntries(fixtures.map((f) => [f.name, f])) as Fixtures;
}

async function buildMultiLayers(layout: OciLayout, compression: LayerCompression): Promise<BuiltLayer[]> {
  return Promise.all([
    writeLayer(layout, baseLayerEntries(), { compression, createdBy: 'busybox' }),
    writeLayer(layout, multiLayer2Entries(), { compression, createdBy: 'data and opq files' }),
    writeLayer(layout, multiLayer3Entries(), { compression, createdBy: 'whiteout, opaque dir, overwrite' }),
  ]);
}

/** Copies layer blobs between layouts, verified against their digests by writeBlob. */
async function copyLayers(from: OciLayout, to: OciLayout, layers: BuiltLayer[]): Promise<void> {
  for (const { digest, size } of layers) {
    await to.writeBlob(createReadStream(from.blobPath(digest)), { digest, size });
  }
}

async function tagImage(
  name: FixtureName,
  layout: OciLayout,
  layers: BuiltLayer[],
  format: ImageFormat,
): Promise<FixtureLayout> {
  const image = await writeImage(layout, { platform: hostPlatform(), layers, config: fixtureConfig, format });
  await layout.addManifest(image.manifest, fixtureTag);
  return fixtureLayout(name, layout, image.manifest, image);
}

async function tagMultiarch(layout: OciLayout, base: BuiltLayer): Promise<FixtureLayout> {
  const platforms: Platform[] = [
    { architecture: 'amd64', os: 'linux' },
    { architecture: 'arm64', os: 'linux', variant: 'v8' },
  ];
  const images = await Promise.all(
    platforms.map((platform) => writeImage(layout, { platform, layers: [base], config: fixtureConfig })),
  );
  const index = await writeImageIndex(layout, { images });
  await layout.addManifest(index, fixtureTag);
  return fixtureLayout('multiarch', layout, index, images[0]!);
}

function fixtureLayout(
  name: FixtureName,
  layout: OciLayout,
  top: Descriptor,
  image: BuiltImage,
): FixtureLayout {
  return {
    name,
    layoutDir: layout.dir,
    tag: fixtureTag,
    manifest: top,
    layers: image.layers,
    configDigest: image.config.digest,
  };
}

/**
 * Writes a skopeo `dir:` transport view of a single-manifest fixture into `viewDir` (created), for
 * tools that cannot read it from the OCI layout: containers/image (skopeo 1.9) resolves an
 * `oci:<dir>:<tag>` reference only to index.json entries with OCI media types, so the Docker
 * schema2 fixture is invisible to it there. The view holds manifest.json (the manifest's bytes, so
 * `skopeo copy --preserve-digests dir:<view> …` keeps its digest) and symlinks to the other blobs.
 */
export async function writeDirTransportView(fixture: FixtureLayout, viewDir: string): Promise<string> {
  if (fixture.name === 'multiarch') {
    throw new FailedPreconditionError('dir transport view: holds a single manifest, not an index');
  }
  const layout = await OciLayout.open(fixture.layoutDir);
  await mkdir(viewDir, { recursive: true });
  await writeFile(join(viewDir, 'manifest.json'), await layout.readBlob(fixture.manifest.digest));
  await writeFile(join(viewDir, 'version'), 'Directory Transport Version: 1.1\n');
  for (const digest of [fixture.configDigest, ...fixture.layers.map((l) => l.digest)]) {
    // The dir transport names sha256 blobs by their hex digits alone.
    const hex = digest.slice('sha256:'.length);
    await symlink(layout.blobPath(digest), join(viewDir, hex)).catch((err: unknown) => {
      if (!isErrno(err, 'EEXIST')) throw err;
    });
  }
  return viewDir;
}

/** One entry of a layer tar as read back by tar-stream. */
export interface TarEntryRead {
  header: Header;
  data: Buffer;
}

/** Decompresses a layer blob according to its media type (gzip, zstd or plain tar). */
export function decompressLayer(blob: Uint8Array, mediaType: string): Buffer {
  if (/[+.]gzip$/.test(mediaType)) return gunzipSync(blob);
  if (/[+.]zstd$/.test(mediaType)) return zstdDecompressSync(blob);
  return Buffer.from(blob);
}

/** The entries of an uncompressed tar, in archive order, bodies included. */
export async function readTarEntries(tar: Uint8Array): Promise<TarEntryRead[]> {
  const ex = extract();
  const entries: TarEntryRead[] = [];
  const reading = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      entries.push({ header: entry.header, data: Buffer.concat(chunks) });
    }
  })();
  ex.end(Buffer.from(tar));
  await reading;
  return entries;
}
