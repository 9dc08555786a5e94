// Planning the import of an OCI image layout (image-spec image-layout.md), from a tar or a directory:
// oci-layout and index.json, then every manifest and index reachable from index.json. An index
// entry whose manifest the archive lacks is skipped (a containerd export of one platform keeps the
// whole index but only that platform's blobs, as a pull does); a manifest that is present must
// have its config and every layer, or the archive is refused.
import { InvalidArgumentError } from '../errdefs/index.ts';
import {
  AnnotationRefName,
  type Descriptor,
  MAX_MANIFEST_SIZE,
  MediaType,
  parseDigest,
  parseManifestOrIndex,
} from '../oci/image/index.ts';
import { formatReference, parseReference } from '../reference/index.ts';
import { blobPathOf } from './archive-paths.ts';
import {
  checkBytes,
  emptyPlan,
  type ImportPlan,
  type PlanOptions,
  parseConfig,
  planLayer,
} from './archive-plan.ts';
import type { ArchiveReader } from './archive-reader.ts';

/** containerd's annotation for the full image name in an exported index.json (ref.name is the tag). */
export const AnnotationContainerdName = 'io.containerd.image.name';

/** Imported images the archive leaves unnamed are stored as localhost/import:<digest prefix>. */
export function fallbackName(target: Descriptor): string {
  return `localhost/import:${parseDigest(target.digest).encoded.slice(0, 12)}`;
}

/**
 * The name of one index.json entry: containerd's full name when present, else ref.name when it is a
 * full reference (skopeo writes what it was given, `oci-archive:f.tar:example.com/a:v1`). A bare
 * ref.name (`latest`) names no repository, so the entry counts as unnamed.
 */
function entryName(desc: Descriptor): string | undefined {
  const full = desc.annotations?.[AnnotationContainerdName];
  const ref = desc.annotations?.[AnnotationRefName];
  const name = full ?? (ref !== undefined && /[/:@]/.test(ref) ? ref : undefined);
  return name === undefined ? undefined : formatReference(parseReference(name));
}

export async function planOciLayout(archive: ArchiveReader, options: PlanOptions): Promise<ImportPlan> {
  const plan = emptyPlan('oci');
  const layoutBytes = await archive.document('oci-layout', 4096);
  let version: unknown;
  try {
    version = (JSON.parse(layoutBytes?.toString('utf8') ?? '{}') as { imageLayoutVersion?: unknown })
      .imageLayoutVersion;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw new InvalidArgumentError(`${archive.what}: oci-layout is not valid JSON`, { cause: err });
  }
  if (version !== '1.0.0') {
    throw new InvalidArgumentError(
      `${archive.what}: imageLayoutVersion ${JSON.stringify(version)}, berth reads 1.0.0`,
    );
  }
  const indexBytes = await archive.document('index.json', MAX_MANIFEST_SIZE);
  if (indexBytes === undefined) throw new InvalidArgumentError(`${archive.what}: no index.json`);
  const top = parseManifestOrIndex(indexBytes, MediaType.ociIndex, `${archive.what}: index.json`);
  if (top.kind !== 'index')
    throw new InvalidArgumentError(`${archive.what}: index.json is not an image index`);

  for (const desc of top.index.manifests) await planDocument(archive, plan, desc, false, options);
  if (options.name !== undefined && top.index.manifests.length !== 1) {
    throw new InvalidArgumentError(
      `${archive.what}: holds ${top.index.manifests.length} images; --name names only an archive of one`,
    );
  }
  for (const entry of top.index.manifests) {
    const target: Descriptor = { mediaType: entry.mediaType, digest: entry.digest, size: entry.size };
    const name =
      options.name !== undefined ? formatReference(parseReference(options.name)) : entryName(entry);
    plan.images.push({ names: [name ?? fallbackName(target)], target });
  }
  return plan;
}

/** Adds a manifest or index and everything below it; `optional` for an index's entries. */
async function planDocument(
  archive: ArchiveReader,
  plan: ImportPlan,
  desc: Descriptor,
  optional: boolean,
  options: PlanOptions,
): Promise<void> {
  const what = `${archive.what}: manifest ${desc.digest}`;
  parseDigest(desc.digest, what);
  if (plan.documents.has(desc.digest)) return;
  const bytes = await archive.document(blobPathOf(desc.digest), MAX_MANIFEST_SIZE);
  if (bytes === undefined) {
    if (optional) return;
    throw new InvalidArgumentError(`${what}: named in index.json but not in the archive`);
  }
  checkBytes(bytes, desc, what);
  const doc = parseManifestOrIndex(bytes, desc.mediaType, what);
  plan.documents.set(desc.digest, { desc, bytes });
  if (doc.kind === 'index') {
    for (const child of doc.index.manifests) await planDocument(archive, plan, child, true, options);
    return;
  }
  const { config, layers } = doc.manifest;
  const configWhat = `${archive.what}: config ${config.digest}`;
  parseDigest(config.digest, configWhat);
  const configBytes = await archive.document(blobPathOf(config.digest), options.maxConfigSize);
  if (configBytes === undefined) throw new InvalidArgumentError(`${configWhat}: not in the archive`);
  checkBytes(configBytes, config, configWhat);
  parseConfig(configBytes, layers.length, configWhat);
  plan.documents.set(config.digest, { desc: config, bytes: configBytes });
  for (const [i, layer] of layers.entries()) {
    const layerWhat = `${archive.what}: layer ${i + 1} of manifest ${desc.digest}`;
    parseDigest(layer.digest, layerWhat);
    await planLayer(archive, plan, layer, blobPathOf(layer.digest), layerWhat);
  }
}
