// What an image archive holds, worked out from its JSON before any blob is stored: the documents
// (index, manifests, configs; for a docker archive the manifest berth writes for it), each verified
// against its digest; the layer entries to stream, each with the digest it must have; and the
// images to name. Nothing here writes: a hostile or broken archive is refused at this stage with the
// store untouched (archive-import.ts streams and commits afterwards).
import { createHash } from 'node:crypto';
import { DataLossError, InvalidArgumentError } from '../errdefs/index.ts';
import {
  type Descriptor,
  type ImageConfig,
  indexMediaTypes,
  manifestMediaTypes,
  parseDigest,
  validateImageConfig,
} from '../oci/image/index.ts';
import type { ArchiveReader } from './archive-reader.ts';

/** A layer (or other large blob) to stream from the archive into the content store. */
export interface PlannedBlob {
  desc: Descriptor;
  /** Its canonical entry name in the archive. */
  path: string;
}

export interface PlannedImage {
  /** Normalised references to store the image under. */
  names: string[];
  target: Descriptor;
}

export interface ImportPlan {
  format: 'oci' | 'docker';
  /** Verified small documents by digest: written to the store as they are. */
  documents: Map<string, { desc: Descriptor; bytes: Buffer }>;
  /** Blobs streamed from the archive, by digest. */
  blobs: Map<string, PlannedBlob>;
  images: PlannedImage[];
}

export interface PlanOptions {
  /** Name for an image the archive does not name (and for the only image, when it holds one). */
  name?: string;
  maxConfigSize: number;
}

export function emptyPlan(format: ImportPlan['format']): ImportPlan {
  return { format, documents: new Map(), blobs: new Map(), images: [] };
}

/** The digest of `bytes` in `digest`'s algorithm. */
export function digestOf(bytes: Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** DataLossError unless `bytes` are what `desc` says (the archive's name for them is a promise). */
export function checkBytes(bytes: Buffer, desc: Descriptor, what: string): void {
  const actual = digestOf(bytes, parseDigest(desc.digest, what).algorithm);
  if (actual !== desc.digest || bytes.length !== desc.size) {
    throw new DataLossError(
      `${what}: content is ${actual} (${bytes.length} bytes), the archive says ${desc.digest} (${desc.size} bytes)`,
    );
  }
}

/** Parses and validates an image config, which must list one diff_id per manifest layer. */
export function parseConfig(bytes: Buffer, layers: number, what: string): ImageConfig {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw new InvalidArgumentError(`${what}: not valid JSON: ${err.message}`);
    throw err;
  }
  const config = validateImageConfig(json, what);
  if (config.rootfs.diff_ids.length !== layers) {
    throw new InvalidArgumentError(
      `${what}: lists ${config.rootfs.diff_ids.length} diff_ids for ${layers} layers`,
    );
  }
  return config;
}

/** Adds a layer entry of the archive to the plan, checking that its size is the descriptor's. */
export async function planLayer(
  archive: ArchiveReader,
  plan: ImportPlan,
  desc: Descriptor,
  path: string,
  what: string,
): Promise<void> {
  const entry = await archive.entry(path);
  if (entry === undefined) throw new InvalidArgumentError(`${what}: ${path} is not in the ${archive.what}`);
  if (entry.size !== desc.size) {
    throw new DataLossError(`${what}: ${path} holds ${entry.size} bytes, the manifest says ${desc.size}`);
  }
  if (!plan.blobs.has(desc.digest)) plan.blobs.set(desc.digest, { desc, path: entry.path });
}

/** Manifests and indexes (OCI or Docker): the blobs that reference others. */
export function isDocumentType(mediaType: string): boolean {
  return indexMediaTypes.includes(mediaType) || manifestMediaTypes.includes(mediaType);
}
