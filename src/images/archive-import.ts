// `berth image import` / `berth load`: images from an OCI image layout (a tar or a directory) or a
// `docker save` tar into the content store, unpacked into snapshots by the same code as a pull.
//
//   source ─▶ reader (tar: pass 1 notes entries, keeps JSON) ─▶ plan (verify documents, find layers)
//          ─▶ stage (tar: pass 2 streams layers into ingests, hashed) ─▶ commit documents + blobs
//          ─▶ unpack (unpack-layers.ts, this host's platform) ─▶ one transaction: GC labels + records
//
// A refused archive (a name escaping it, bytes not matching their digest, JSON pointing outside)
// fails before anything is committed. Like a pull, the import holds a lease on what it writes until
// the image records reference it, so a concurrent garbage collection leaves it alone.
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { InvalidArgumentError, isErrno, NotFoundError } from '../errdefs/index.ts';
import {
  type Descriptor,
  hostPlatform,
  type Index,
  type Platform,
  parseManifestOrIndex,
  selectManifest,
} from '../oci/image/index.ts';
import { type ImportPlan, isDocumentType, type PlannedImage, parseConfig } from './archive-plan.ts';
import { planDockerArchive } from './archive-plan-docker.ts';
import { planOciLayout } from './archive-plan-oci.ts';
import { type ArchiveReader, DirectoryArchive } from './archive-reader.ts';
import { stageBlobs } from './archive-stage.ts';
import { TarArchive } from './archive-tar-reader.ts';
import { chainIDs } from './chain-id.ts';
import { gcLabelsForConfig, gcLabelsForIndex, gcLabelsForManifest } from './gc-labels.ts';
import type { PullDeps } from './pull.ts';
import { pullLeaseLifetimeMs } from './pull.ts';
import type { ProgressListener } from './types.ts';
import { unpackLayers } from './unpack-layers.ts';

export interface ImportOptions {
  /** Name for the archive's only image, instead of the names it carries. */
  name?: string;
  /** Which manifest of a multi-platform image to unpack (default: this host's). */
  platform?: Platform;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export interface ImportedImage {
  name: string;
  target: Descriptor;
  /** The snapshot of its top layer; undefined when no manifest of the image suits the platform. */
  chainID: string | undefined;
}

/** Opens `source` (a tar file or a directory) and tells which kind of archive it holds. */
async function openArchive(source: string): Promise<ArchiveReader> {
  const st = await stat(source).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT')) throw new NotFoundError(`archive ${source}: no such file or directory`);
    throw err;
  });
  return st.isDirectory() ? new DirectoryArchive(source) : TarArchive.open(source);
}

export async function planImport(archive: ArchiveReader, options: ImportOptions, maxConfigSize: number) {
  const planOptions = { maxConfigSize, ...(options.name === undefined ? {} : { name: options.name }) };
  if ((await archive.entry('oci-layout')) !== undefined) return planOciLayout(archive, planOptions);
  if ((await archive.entry('manifest.json')) !== undefined) return planDockerArchive(archive, planOptions);
  throw new InvalidArgumentError(
    `${archive.what}: neither an OCI image layout (no oci-layout) nor a docker save archive (no manifest.json)`,
  );
}

export async function importImages(
  deps: PullDeps,
  source: string,
  options: ImportOptions = {},
): Promise<ImportedImage[]> {
  const progress: ProgressListener = options.onProgress ?? (() => undefined);
  const archive = await openArchive(source);
  const plan = await planImport(archive, options, deps.maxConfigSize);

  const { metadata, content } = deps;
  const leaseID = `import-${randomBytes(8).toString('hex')}`;
  metadata.leases.create({ id: leaseID, expires: new Date(Date.now() + pullLeaseLifetimeMs) });
  try {
    for (const digest of [...plan.documents.keys(), ...plan.blobs.keys()]) {
      metadata.leases.addResource(leaseID, { type: 'content', id: digest });
    }
    const staged = await stageBlobs(content, archive, plan, progress, options.signal);
    for (const { desc, bytes } of plan.documents.values()) await content.put(desc, bytes);
    await staged.commit();

    const imported: ImportedImage[] = [];
    const configLabels = new Map<string, Record<string, string>>();
    for (const image of plan.images) {
      const chainID = await unpackImage(deps, plan, image, leaseID, options, progress, configLabels);
      for (const name of image.names) imported.push({ name, target: image.target, chainID });
    }
    metadata.transaction(() => {
      for (const { desc, bytes } of plan.documents.values()) {
        const doc = documentOf(desc, bytes);
        if (doc?.kind === 'index') metadata.content.set(desc.digest, gcLabelsForIndex(doc.index));
        if (doc?.kind === 'manifest') metadata.content.set(desc.digest, gcLabelsForManifest(doc.manifest));
      }
      for (const [digest, labels] of configLabels) metadata.content.set(digest, labels);
      for (const { name, target } of imported) {
        metadata.images.put({
          name,
          target: { mediaType: target.mediaType, digest: target.digest, size: target.size },
        });
      }
    });
    for (const { name, target } of imported) await content.setImage(name, target);
    return imported;
  } finally {
    metadata.leases.delete(leaseID);
  }
}

/** Manifests and indexes parse; configs (and anything else) are not documents of that kind. */
function documentOf(desc: Descriptor, bytes: Buffer) {
  if (!isDocumentType(desc.mediaType)) return undefined;
  return parseManifestOrIndex(bytes, desc.mediaType, `manifest ${desc.digest}`);
}

/** Unpacks the image's manifest for the platform (its only one, if not an index). */
async function unpackImage(
  deps: PullDeps,
  plan: ImportPlan,
  image: PlannedImage,
  leaseID: string,
  options: ImportOptions,
  progress: ProgressListener,
  configLabels: Map<string, Record<string, string>>,
): Promise<string | undefined> {
  const name = image.names[0] as string;
  let desc = image.target;
  let doc = documentOf(desc, plan.documents.get(desc.digest)?.bytes ?? Buffer.alloc(0));
  while (doc?.kind === 'index') {
    // Only the platforms the archive holds can be chosen.
    const held: Index = {
      ...doc.index,
      manifests: doc.index.manifests.filter((m) => plan.documents.has(m.digest)),
    };
    try {
      desc = selectManifest(held, options.platform ?? hostPlatform(), name);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
    doc = documentOf(desc, (plan.documents.get(desc.digest) as { bytes: Buffer }).bytes);
  }
  if (doc?.kind !== 'manifest') return undefined;
  const { manifest } = doc;
  const configBytes = (plan.documents.get(manifest.config.digest) as { bytes: Buffer }).bytes;
  const diffIDs = parseConfig(configBytes, manifest.layers.length, `config ${manifest.config.digest}`).rootfs
    .diff_ids;
  const chain = chainIDs(diffIDs);
  await unpackLayers(deps, {
    name,
    layers: manifest.layers,
    diffIDs,
    chain,
    leaseID,
    progress,
    signal: options.signal,
  });
  configLabels.set(manifest.config.digest, gcLabelsForConfig(deps.snapshotter.name, chain.at(-1)));
  return chain.at(-1);
}
