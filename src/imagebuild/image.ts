// An image from built layers: the config (image-spec config.md) and the manifest (manifest.md), in
// OCI or Docker schema2 media types. The document builders are pure; writeImage stores them.

import type { BlobWriter } from '../content/index.ts';
import { InvalidArgumentError } from '../errdefs/index.ts';
import type { Descriptor, History, ImageConfig, Manifest, Platform } from '../oci/image/index.ts';
import { reproducibleEpoch } from './entries.ts';
import { writeJsonBlob } from './json-blob.ts';
import { configMediaType, layerMediaType, manifestMediaType } from './media.ts';
import type { BuiltImage, ImageFormat, ImageSpec } from './types.ts';

/** The image config document for `spec` (keys in a fixed order, so its digest is stable). */
export function imageConfig(spec: ImageSpec): ImageConfig {
  // RFC 3339 as Go writes it (config.md "created"): no milliseconds unless there are some.
  const created = (spec.created ?? reproducibleEpoch).toISOString().replace('.000Z', 'Z');
  const { architecture, os, variant } = spec.platform;
  if (!architecture || !os)
    throw new InvalidArgumentError('image platform: architecture and os are required');
  const history: History[] =
    spec.history ??
    spec.layers.map((layer) => ({ created, created_by: layer.createdBy ?? 'berth imagebuild' }));
  const nonEmpty = history.filter((h) => h.empty_layer !== true).length;
  if (nonEmpty !== spec.layers.length) {
    // config.md: history entries without empty_layer correspond one-to-one to the layers.
    throw new InvalidArgumentError(
      `image history: ${nonEmpty} entries describe layers but the image has ${spec.layers.length}`,
    );
  }
  // Keys in the order config.md lists them, for a readable document; absent optionals are left out.
  return {
    created,
    ...(spec.author !== undefined && { author: spec.author }),
    architecture,
    os,
    ...(spec.platform['os.version'] !== undefined && { 'os.version': spec.platform['os.version'] }),
    ...(variant !== undefined && { variant }),
    ...(spec.config !== undefined && { config: spec.config }),
    rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => l.diffId) },
    history,
  };
}

/** The manifest document that refers to `config` and `layers` (already with their media types). */
export function imageManifest(
  format: ImageFormat,
  config: Descriptor,
  layers: Descriptor[],
  annotations?: Record<string, string>,
): Manifest {
  if (annotations !== undefined && format === 'docker') {
    throw new InvalidArgumentError(
      'manifest annotations: Docker schema2 manifests have no annotations field',
    );
  }
  return {
    schemaVersion: 2,
    mediaType: manifestMediaType(format),
    config,
    layers,
    ...(annotations !== undefined && { annotations }),
  };
}

/** Stores the config and manifest of `spec` (its layers must be in the layout already). */
export async function writeImage(
  writer: BlobWriter,
  spec: ImageSpec,
  signal?: AbortSignal,
): Promise<BuiltImage> {
  const format = spec.format ?? 'oci';
  const layers = spec.layers.map(
    (l): Descriptor => ({ mediaType: layerMediaType(format, l.compression), digest: l.digest, size: l.size }),
  );
  const config = await writeJsonBlob(writer, configMediaType(format), imageConfig(spec), signal);
  const manifest = await writeJsonBlob(
    writer,
    manifestMediaType(format),
    imageManifest(format, config, layers, spec.annotations),
    signal,
  );
  const platform: Platform = { architecture: spec.platform.architecture, os: spec.platform.os };
  if (spec.platform.variant !== undefined) platform.variant = spec.platform.variant;
  return { manifest, config, layers, platform, format };
}
