// `berth push`: an image from the content store to a registry (distribution-spec "Pushing"): every
// blob first (the registry skips what it has, HEAD before upload), then child manifests by digest,
// then the top manifest or index under the tag. Blobs stream from disk; nothing is buffered whole
// but manifests and configs. A blob pushed to another repository of the registry it was pulled from
// is mounted from there ("Mounting a blob from another repository") instead of uploaded again.
import { FailedPreconditionError, NotFoundError } from '../errdefs/index.ts';
import {
  type Descriptor,
  MAX_MANIFEST_SIZE,
  type Manifest,
  type Platform,
  parseManifestOrIndex,
  selectManifest,
} from '../oci/image/index.ts';
import { formatReference, parseReference } from '../reference/index.ts';
import type { ImageService } from './image-service.ts';
import type { ProgressListener } from './types.ts';

export interface PushOptions {
  /** Push under this name instead of the image's own (`berth push SRC TARGET`). */
  target?: string;
  /** Push only this platform's manifest of a multi-platform image, under the tag (docker push --platform). */
  platform?: Platform;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export interface PushedImage {
  name: string;
  target: Descriptor;
}

/**
 * Pushes a stored image. An index is pushed with every manifest whose blobs the store holds; a
 * manifest whose blobs are missing (a pull stores only this host's platform) makes the push fail
 * naming the blob, as docker and containerd refuse to push an incomplete index.
 */
export async function pushImage(
  service: ImageService,
  ref: string,
  options: PushOptions = {},
): Promise<PushedImage> {
  const { registry, content } = service.deps;
  const image = service.get(ref);
  const dest = parseReference(options.target ?? image.name);
  const name = formatReference(dest);
  const host = dest.domain;
  const repo = dest.path;
  const signal = options.signal;
  const progress: ProgressListener = options.onProgress ?? (() => undefined);
  const source = parseReference(image.name);
  // The registry and repository the image came from (its name): a mount source on the same host.
  const mountFrom = source.domain === host && source.path !== repo ? source.path : undefined;
  let top = image.target as Descriptor;

  const readDocument = async (desc: Descriptor) => {
    if (!(await content.has(desc.digest))) {
      throw new FailedPreconditionError(`image "${image.name}": ${desc.digest} is not in the content store`, {
        hint: 'pull the image again (with every platform you want to push)',
      });
    }
    const bytes = await content.readBytes(desc.digest, MAX_MANIFEST_SIZE);
    return { bytes, doc: parseManifestOrIndex(bytes, desc.mediaType, `manifest ${desc.digest}`) };
  };

  const pushBlob = async (desc: Descriptor) => {
    if (!(await content.has(desc.digest))) {
      throw new NotFoundError(`image "${image.name}": blob ${desc.digest} is not in the content store`, {
        hint: 'pull the image again before pushing it',
      });
    }
    progress({ id: desc.digest, kind: 'layer', phase: 'uploading', current: 0, total: desc.size });
    const result = await registry.pushBlob(host, repo, desc, () => content.read(desc.digest), {
      ...(signal === undefined ? {} : { signal }),
      ...(mountFrom === undefined ? {} : { mountFrom }),
    });
    progress({
      id: desc.digest,
      kind: 'layer',
      phase: result === 'uploaded' ? 'pushed' : 'exists',
      current: desc.size,
      total: desc.size,
    });
  };

  const pushManifestTree = async (desc: Descriptor, reference: string): Promise<void> => {
    const { bytes, doc } = await readDocument(desc);
    if (doc.kind === 'index') {
      for (const child of doc.index.manifests) await pushManifestTree(child, child.digest);
    } else {
      const manifest: Manifest = doc.manifest;
      for (const blob of [manifest.config, ...manifest.layers]) await pushBlob(blob);
    }
    await registry.pushManifest(host, repo, reference, bytes, desc.mediaType, {
      ...(signal === undefined ? {} : { signal }),
    });
  };

  if (options.platform !== undefined) {
    const { doc } = await readDocument(top);
    if (doc.kind === 'index') top = selectManifest(doc.index, options.platform, image.name);
  }
  await pushManifestTree(top, dest.digest ?? dest.tag ?? top.digest);
  return { name, target: top };
}
