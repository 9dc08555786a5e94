// `berth save`: images as a `docker save` archive, laid out as Docker 25+ writes it (minus its OCI
// index): manifest.json `[{Config, RepoTags, Layers}]` and `repositories` first, then the config and
// the layers under blobs/sha256/. Docker archives hold one platform per image and uncompressed layer
// tars, so each layer is stored under its diff_id: a gzip or zstd blob is decompressed twice, once
// to learn the tar's size (a tar header comes before its bytes) and check it against the diff_id,
// once into the archive. That costs CPU, but no layer is ever spooled to disk or held in memory.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { DataLossError } from '../errdefs/index.ts';
import { type Descriptor, layerCompression, type Platform, parseDigest } from '../oci/image/index.ts';
import { familiarName, parseReference } from '../reference/index.ts';
import type { ArchiveTarWriter } from './archive-tar-writer.ts';
import type { ImageService } from './image-service.ts';

interface SavedImage {
  config: Descriptor;
  configPath: string;
  layers: { desc: Descriptor; diffID: string; path: string }[];
  repoTags: string[];
}

const pathOf = (digest: string) => `blobs/sha256/${parseDigest(digest).encoded}`;

/** The layer's uncompressed tar, streamed from the content store. */
function tarOf(service: ImageService, layer: Descriptor): Readable {
  const source = service.deps.content.read(layer.digest);
  const compression = layerCompression(layer.mediaType, `layer ${layer.digest}`);
  if (compression === 'none') return source;
  const decompress = compression === 'gzip' ? createGunzip() : createZstdDecompress();
  source.on('error', (err) => decompress.destroy(err));
  return source.pipe(decompress);
}

/** Size of the layer's tar, checked against its diff_id (the config's promise for those bytes). */
async function measure(service: ImageService, layer: Descriptor, diffID: string): Promise<number> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of tarOf(service, layer)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== diffID) {
    throw new DataLossError(`layer ${layer.digest}: its tar is ${actual}, the image config says ${diffID}`);
  }
  return size;
}

export async function writeDockerArchive(
  service: ImageService,
  refs: readonly string[],
  tar: ArchiveTarWriter,
  platform: Platform | undefined,
): Promise<void> {
  // One entry per image (by config), however many of its names were asked for, as docker does.
  const saved = new Map<string, SavedImage>();
  for (const ref of refs) {
    const details = await service.inspect(ref, ...(platform === undefined ? [] : [platform]));
    const parsed = parseReference(details.name);
    const tag = parsed.tag === undefined ? [] : [familiarName({ ...parsed, digest: undefined })];
    const known = saved.get(details.configDescriptor.digest);
    if (known !== undefined) {
      known.repoTags.push(...tag.filter((t) => !known.repoTags.includes(t)));
      continue;
    }
    const diffIDs = details.config.rootfs.diff_ids;
    saved.set(details.configDescriptor.digest, {
      config: details.configDescriptor,
      configPath: pathOf(details.configDescriptor.digest),
      layers: details.layers.map((desc, i) => {
        const diffID = diffIDs[i] as string;
        return { desc, diffID, path: pathOf(diffID) };
      }),
      repoTags: tag,
    });
  }
  const images = [...saved.values()];
  const manifest = images.map((i) => ({
    Config: i.configPath,
    RepoTags: i.repoTags,
    Layers: i.layers.map((l) => l.path),
  }));
  // `repositories` is the pre-1.10 table (repository → tag → top layer id), still read by old
  // tools; berth's layer ids are the diff_ids' hex, as the layer paths are.
  const repositories: Record<string, Record<string, string>> = {};
  for (const image of images) {
    const top = image.layers.at(-1);
    for (const repoTag of image.repoTags) {
      const at = repoTag.lastIndexOf(':');
      const repo = repoTag.slice(0, at);
      repositories[repo] = {
        ...repositories[repo],
        [repoTag.slice(at + 1)]: top ? parseDigest(top.diffID).encoded : '',
      };
    }
  }
  await tar.file('manifest.json', Buffer.from(JSON.stringify(manifest)));
  await tar.file('repositories', Buffer.from(JSON.stringify(repositories)));
  const written = new Set<string>();
  for (const image of images) {
    await tar.file(
      image.configPath,
      await service.deps.content.readBytes(image.config.digest, service.deps.maxConfigSize),
    );
    for (const layer of image.layers) {
      if (written.has(layer.path)) continue;
      written.add(layer.path);
      const compressed = layerCompression(layer.desc.mediaType) !== 'none';
      const size = compressed ? await measure(service, layer.desc, layer.diffID) : layer.desc.size;
      await tar.stream(layer.path, size, tarOf(service, layer.desc));
    }
  }
}
