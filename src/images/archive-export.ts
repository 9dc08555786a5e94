// `berth image export` / `berth save`: stored images as one tar, in either of two formats.
//   oci     an OCI image layout (image-layout.md): oci-layout, index.json, blobs/sha256/<hex>, the
//           blobs as stored. index.json names each image as containerd's export does: the full name
//           in `io.containerd.image.name`, the tag in `org.opencontainers.image.ref.name`. An index
//           goes with every platform the store holds; platforms never pulled are left out (their
//           entries stay in the index, whose digest must not change), as containerd's export does.
//   docker  a `docker save` archive (archive-export-docker.ts).
// The archive is written to a temp file beside the output and renamed into place when complete, so
// a failed export leaves no truncated archive under the name asked for.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { FailedPreconditionError } from '../errdefs/index.ts';
import {
  AnnotationRefName,
  type Descriptor,
  type Index,
  MAX_MANIFEST_SIZE,
  MediaType,
  type Platform,
  parseManifestOrIndex,
} from '../oci/image/index.ts';
import { parseReference } from '../reference/index.ts';
import { writeDockerArchive } from './archive-export-docker.ts';
import { blobPathOf } from './archive-paths.ts';
import { isDocumentType } from './archive-plan.ts';
import { AnnotationContainerdName } from './archive-plan-oci.ts';
import { type ArchiveTarWriter, writeTar } from './archive-tar-writer.ts';
import type { ImageService } from './image-service.ts';

export type ArchiveFormat = 'oci' | 'docker';

export interface ExportOptions {
  format?: ArchiveFormat;
  /** docker: which platform of a multi-platform image to save (default: this host's). */
  platform?: Platform;
}

/** Writes the images `refs` as one archive to `out`. */
export async function exportImages(
  service: ImageService,
  refs: readonly string[],
  out: Writable,
  options: ExportOptions = {},
): Promise<void> {
  if (options.format === 'docker') {
    await writeTar(out, (tar) => writeDockerArchive(service, refs, tar, options.platform));
    return;
  }
  await writeTar(out, (tar) => writeOciLayout(service, refs, tar));
}

/** exportImages into `file`, through a temp file renamed into place when the archive is complete. */
export async function exportImagesToFile(
  service: ImageService,
  refs: readonly string[],
  file: string,
  options: ExportOptions = {},
): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await exportImages(service, refs, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }), options);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
}

async function writeOciLayout(service: ImageService, refs: readonly string[], tar: ArchiveTarWriter) {
  const { content } = service.deps;
  const blobs = new Map<string, Descriptor>();
  const index: Index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  for (const ref of refs) {
    const image = service.get(ref);
    const target = image.target as Descriptor;
    await collect(service, image.name, target, false, blobs);
    const parsed = parseReference(image.name);
    const annotations: Record<string, string> = { [AnnotationContainerdName]: image.name };
    if (parsed.tag !== undefined) annotations[AnnotationRefName] = parsed.tag;
    index.manifests.push({
      mediaType: target.mediaType,
      digest: target.digest,
      size: target.size,
      annotations,
    });
  }
  await tar.file('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  await tar.file('index.json', Buffer.from(JSON.stringify(index)));
  for (const desc of blobs.values()) {
    await tar.stream(blobPathOf(desc.digest), desc.size, content.read(desc.digest));
  }
}

/** Adds `desc` and what it references to `blobs`; an index's unheld platforms are skipped. */
async function collect(
  service: ImageService,
  name: string,
  desc: Descriptor,
  optional: boolean,
  blobs: Map<string, Descriptor>,
): Promise<void> {
  const { content } = service.deps;
  if (blobs.has(desc.digest)) return;
  if (!(await content.has(desc.digest))) {
    if (optional) return;
    throw new FailedPreconditionError(`image "${name}": ${desc.digest} is not in the content store`, {
      hint: 'pull the image again before exporting it',
    });
  }
  blobs.set(desc.digest, { mediaType: desc.mediaType, digest: desc.digest, size: desc.size });
  if (!isDocumentType(desc.mediaType)) return;
  const bytes = await content.readBytes(desc.digest, MAX_MANIFEST_SIZE);
  const doc = parseManifestOrIndex(bytes, desc.mediaType, `manifest ${desc.digest}`);
  if (doc.kind === 'index') {
    for (const child of doc.index.manifests) await collect(service, name, child, true, blobs);
    return;
  }
  for (const blob of [doc.manifest.config, ...doc.manifest.layers]) {
    await collect(service, name, blob, false, blobs);
  }
}
