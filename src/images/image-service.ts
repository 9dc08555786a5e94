// The image service: what `berth pull/images/tag/rmi/image inspect` and the CRI ImageService do,
// over the metadata image table and the content store. Names are normalised references
// (`docker.io/library/busybox:latest`); a short form (`busybox`) is accepted everywhere.
import { NotFoundError } from '../errdefs/index.ts';
import type { Image, Metadata } from '../metadata/index.ts';
import {
  type Descriptor,
  formatPlatform,
  hostPlatform,
  type ImageConfig,
  MAX_MANIFEST_SIZE,
  type Manifest,
  type Platform,
  parseManifestOrIndex,
  selectManifest,
  validateImageConfig,
} from '../oci/image/index.ts';
import { formatReference, parseReference } from '../reference/index.ts';
import { type ExportOptions, exportImagesToFile } from './archive-export.ts';
import { type ImportedImage, type ImportOptions, importImages } from './archive-import.ts';
import { chainIDs } from './chain-id.ts';
import { type PullDeps, type PullOptions, pullImage } from './pull.ts';
import type { PullContent } from './pull-content.ts';
import { type PushedImage, type PushOptions, pushImage } from './push-image.ts';
import type { PulledImage } from './types.ts';

export interface ImageDetails {
  name: string;
  target: Descriptor;
  manifest: Descriptor;
  config: ImageConfig;
  configDescriptor: Descriptor;
  layers: Descriptor[];
  platform: string;
  /** Bytes of the config and layers as stored (compressed). */
  size: number;
  chainID: string;
  created: string;
  updated: string;
}

export class ImageService {
  readonly deps: PullDeps;

  constructor(deps: PullDeps) {
    this.deps = deps;
  }

  private get metadata(): Metadata {
    return this.deps.metadata;
  }

  private get content(): PullContent {
    return this.deps.content;
  }

  pull(ref: string, options: PullOptions = {}): Promise<PulledImage> {
    return pullImage(this.deps, ref, options);
  }

  push(ref: string, options: PushOptions = {}): Promise<PushedImage> {
    return pushImage(this, ref, options);
  }

  /** Writes the images to the archive `file` (archive-export.ts). */
  export(refs: readonly string[], file: string, options: ExportOptions = {}): Promise<void> {
    return exportImagesToFile(this, refs, file, options);
  }

  /** Imports the images of an archive file or OCI layout directory (archive-import.ts). */
  import(source: string, options: ImportOptions = {}): Promise<ImportedImage[]> {
    return importImages(this.deps, source, options);
  }

  /** The stored record for a name (short forms normalised), or NotFoundError naming it. */
  get(ref: string): Image {
    const name = normalizeName(ref);
    try {
      return this.metadata.images.get(name);
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new NotFoundError(`image "${ref}": not found`, {
          cause: err,
          hint: `pull it first: berth pull ${ref}`,
        });
      }
      throw err;
    }
  }

  list(): Image[] {
    return this.metadata.images.list();
  }

  /** Reads an image's manifest (for this host's platform when it is an index) and its config. */
  async inspect(ref: string, platform: Platform = hostPlatform()): Promise<ImageDetails> {
    const image = this.get(ref);
    const target = image.target as Descriptor;
    let manifestDesc = target;
    let doc = await this.document(target);
    if (doc.kind === 'index') {
      manifestDesc = selectManifest(doc.index, platform, image.name);
      doc = await this.document(manifestDesc);
    }
    if (doc.kind !== 'manifest')
      throw new NotFoundError(`image "${ref}": no image manifest for this platform`);
    const manifest: Manifest = doc.manifest;
    const configBytes = await this.content.readBytes(manifest.config.digest, this.deps.maxConfigSize);
    const config = validateImageConfig(
      JSON.parse(configBytes.toString('utf8')),
      `image config ${manifest.config.digest}`,
    );
    const p: Platform = { os: config.os, architecture: config.architecture };
    if (config.variant !== undefined) p.variant = config.variant;
    return {
      name: image.name,
      target,
      manifest: manifestDesc,
      config,
      configDescriptor: manifest.config,
      layers: manifest.layers,
      platform: formatPlatform(p),
      size: manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0),
      chainID: chainIDs(config.rootfs.diff_ids).at(-1) ?? '',
      created: image.created,
      updated: image.updated,
    };
  }

  private async document(desc: Descriptor) {
    const bytes = await this.content.readBytes(desc.digest, MAX_MANIFEST_SIZE);
    return parseManifestOrIndex(bytes, desc.mediaType, `manifest ${desc.digest}`);
  }

  /** Gives the image `source` a second name `target` (both short or full forms). */
  async tag(source: string, target: string): Promise<Image> {
    const image = this.get(source);
    const name = normalizeName(target);
    const tagged = this.metadata.images.put({ name, target: image.target });
    await this.content.setImage(name, image.target as Descriptor);
    return tagged;
  }

  /**
   * Removes the name. Blobs and snapshots stay until `berth image prune` / the garbage collector
   * finds nothing referring to them, as containerd does.
   */
  async remove(ref: string): Promise<string> {
    const image = this.get(ref);
    this.metadata.images.delete(image.name);
    await this.content.removeImage(image.name);
    return image.name;
  }
}

export function normalizeName(ref: string): string {
  return formatReference(parseReference(ref));
}
