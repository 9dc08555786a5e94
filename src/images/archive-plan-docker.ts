// Planning the import of a `docker save` archive: manifest.json lists each image as
// `{Config, RepoTags, Layers}` with paths inside the archive. Docker archives carry no manifest of
// their own and (except Docker 25+'s) uncompressed layers, so berth stores each layer tar as a
// `application/vnd.docker.image.rootfs.diff.tar` blob whose digest is the config's diff_id, and
// writes a Docker schema2 manifest over config and layers, as containerd's import does.
import { InvalidArgumentError, UnimplementedError } from '../errdefs/index.ts';
import { type Descriptor, MAX_MANIFEST_SIZE, type Manifest, MediaType } from '../oci/image/index.ts';
import { formatReference, parseReference } from '../reference/index.ts';
import { archivePath } from './archive-paths.ts';
import {
  checkBytes,
  digestOf,
  emptyPlan,
  type ImportPlan,
  type PlanOptions,
  parseConfig,
  planLayer,
} from './archive-plan.ts';
import { fallbackName } from './archive-plan-oci.ts';
import type { ArchiveReader } from './archive-reader.ts';

interface DockerEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

function parseDockerManifest(bytes: Buffer, what: string): DockerEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw new InvalidArgumentError(`${what}: not valid JSON: ${err.message}`, { cause: err });
  }
  if (!Array.isArray(json)) throw new InvalidArgumentError(`${what}: expected a JSON array`);
  return json.map((item: unknown, i): DockerEntry => {
    const e = item as Partial<Record<keyof DockerEntry, unknown>> | null;
    const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
    if (
      e === null ||
      typeof e !== 'object' ||
      typeof e.Config !== 'string' ||
      !strings(e.Layers) ||
      !(e.RepoTags === undefined || e.RepoTags === null || strings(e.RepoTags))
    ) {
      throw new InvalidArgumentError(`${what}: entry ${i} needs Config (a path), Layers (paths), RepoTags`);
    }
    return {
      Config: e.Config,
      Layers: e.Layers as string[],
      RepoTags: (e.RepoTags as string[] | null) ?? [],
    };
  });
}

/** The sha256 a file name promises: `<hex>.json`, `<hex>.tar`, `blobs/sha256/<hex>`; else undefined. */
function namedDigest(path: string): string | undefined {
  const m = /(?:^|\/)(?:sha256\/)?([0-9a-f]{64})(?:\.json|\.tar)?$/.exec(path);
  return m === null ? undefined : `sha256:${m[1]}`;
}

function layerMediaType(magic: Buffer): string {
  if (magic[0] === 0x1f && magic[1] === 0x8b) return MediaType.dockerLayerGzip;
  if (magic.length >= 4 && magic.readUInt32LE(0) === 0xfd2fb528) return MediaType.dockerLayerZstd;
  return MediaType.dockerLayer;
}

export async function planDockerArchive(archive: ArchiveReader, options: PlanOptions): Promise<ImportPlan> {
  const plan = emptyPlan('docker');
  const what = `${archive.what}: manifest.json`;
  const bytes = await archive.document('manifest.json', MAX_MANIFEST_SIZE);
  if (bytes === undefined) throw new InvalidArgumentError(`${what}: missing`);
  const entries = parseDockerManifest(bytes, what);
  if (options.name !== undefined && entries.length !== 1) {
    throw new InvalidArgumentError(
      `${archive.what}: holds ${entries.length} images; --name names only an archive of one`,
    );
  }
  for (const [i, entry] of entries.entries()) {
    const at = `${what}: image ${i}`;
    const configPath = archivePath(entry.Config, `${at}: Config`);
    const configBytes = await archive.document(configPath, options.maxConfigSize);
    if (configBytes === undefined)
      throw new InvalidArgumentError(`${at}: config ${configPath} is not in the archive`);
    const config: Descriptor = {
      mediaType: MediaType.dockerConfig,
      digest: namedDigest(configPath) ?? digestOf(configBytes),
      size: configBytes.length,
    };
    checkBytes(configBytes, config, `${at}: config ${configPath}`);
    const diffIDs = parseConfig(configBytes, entry.Layers.length, `${at}: config ${configPath}`).rootfs
      .diff_ids;
    plan.documents.set(config.digest, { desc: config, bytes: configBytes });

    const layers: Descriptor[] = [];
    for (const [j, layerName] of entry.Layers.entries()) {
      const layerWhat = `${at}: layer ${j + 1}`;
      const path = archivePath(layerName, layerWhat);
      const found = await archive.entry(path);
      if (found === undefined) throw new InvalidArgumentError(`${layerWhat}: ${path} is not in the archive`);
      const mediaType = layerMediaType(found.magic);
      // An uncompressed layer is its own diff; a compressed one (Docker 25+ may keep them) must be
      // named by its digest, since nothing else in the archive says what its bytes should hash to.
      const digest = mediaType === MediaType.dockerLayer ? (diffIDs[j] as string) : namedDigest(path);
      if (digest === undefined) {
        throw new UnimplementedError(`${layerWhat}: ${path} is compressed and not named by its digest`);
      }
      const desc: Descriptor = { mediaType, digest, size: found.size };
      await planLayer(archive, plan, desc, path, layerWhat);
      layers.push(desc);
    }

    const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.dockerManifest, config, layers };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const target: Descriptor = {
      mediaType: MediaType.dockerManifest,
      digest: digestOf(manifestBytes),
      size: manifestBytes.length,
    };
    plan.documents.set(target.digest, { desc: target, bytes: manifestBytes });
    const tags = options.name !== undefined ? [options.name] : entry.RepoTags;
    const names = tags.map((t) => formatReference(parseReference(t)));
    plan.images.push({ names: names.length > 0 ? names : [fallbackName(target)], target });
  }
  return plan;
}
