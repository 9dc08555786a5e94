// The data the image builder takes and returns. Paths inside a layer are written absolute
// ('/bin/sh'); the builder stores them relative ('bin/sh'), as image-spec layer.md's examples do.

import type {
  Descriptor,
  Digest,
  History,
  ImageRunConfig,
  LayerCompression,
  Platform,
} from '../oci/image/index.ts';

/** OCI image-spec media types, or Docker's "Image Manifest V2, Schema 2" ones for the same documents. */
export type ImageFormat = 'oci' | 'docker';

/** Metadata of an entry. Defaults: mode 0644 (files, devices), 0755 (dirs), 0777 (symlinks); uid/gid 0; the build's mtime. */
export interface EntryMeta {
  /** Permission bits including setuid/setgid/sticky (0o7777 at most); the file type comes from `type`. */
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
}

/** A regular file whose bytes are given. */
export interface BytesFileEntry extends EntryMeta {
  type: 'file';
  path: string;
  content: Uint8Array | string;
}

/** A regular file copied from the host while the layer streams (never read whole into memory). */
export interface HostFileEntry extends EntryMeta {
  type: 'file';
  path: string;
  hostPath: string;
}

export interface DirEntry extends EntryMeta {
  type: 'dir';
  path: string;
}

export interface SymlinkEntry extends EntryMeta {
  type: 'symlink';
  path: string;
  /** Stored verbatim: relative ('busybox') or absolute ('/bin/busybox'). */
  target: string;
}

/** A hardlink to a regular file entry of the same layer (an extractor links to the file it just wrote). */
export interface HardlinkEntry {
  type: 'hardlink';
  path: string;
  target: string;
}

export interface DeviceEntry extends EntryMeta {
  type: 'char' | 'block';
  path: string;
  major: number;
  minor: number;
}

export interface FifoEntry extends EntryMeta {
  type: 'fifo';
  path: string;
}

/** Deletes `path` of the layers below: stored as `<dir>/.wh.<name>` (image-spec layer.md "Whiteouts"). */
export interface WhiteoutEntry {
  type: 'whiteout';
  path: string;
}

/** Hides everything the layers below have inside directory `path`: stored as `<path>/.wh..wh..opq`. */
export interface OpaqueEntry {
  type: 'opaque';
  path: string;
}

export type LayerEntry =
  | BytesFileEntry
  | HostFileEntry
  | DirEntry
  | SymlinkEntry
  | HardlinkEntry
  | DeviceEntry
  | FifoEntry
  | WhiteoutEntry
  | OpaqueEntry;

export interface LayerOptions {
  /** Default 'gzip'. */
  compression?: LayerCompression;
  /** Compression level (gzip 0–9, default 6; zstd 1–22, default 3). */
  level?: number;
  /** mtime of entries that name none; default `reproducibleEpoch`. */
  mtime?: Date;
  /** The history line of this layer in the image config. */
  createdBy?: string;
  signal?: AbortSignal;
}

/** A layer blob written to a layout. Its media type is chosen when a manifest uses it (OCI or Docker). */
export interface BuiltLayer {
  /** Digest and size of the blob as stored (compressed). */
  digest: Digest;
  size: number;
  /** sha256 of the uncompressed tar: the image config's rootfs.diff_ids entry. */
  diffId: Digest;
  compression: LayerCompression;
  createdBy?: string;
}

export interface ImageSpec {
  platform: Platform;
  layers: BuiltLayer[];
  /** The runtime defaults: Env, Cmd, Entrypoint, WorkingDir, User, Labels, … */
  config?: ImageRunConfig;
  /** Default 'oci'. */
  format?: ImageFormat;
  /** The config's `created` and the history's dates; default `reproducibleEpoch`. */
  created?: Date;
  author?: string;
  /** Default: one entry per layer, from the layer's createdBy. */
  history?: History[];
  /** Manifest annotations (OCI only: Docker schema2 manifests have no such field). */
  annotations?: Record<string, string>;
}

/** What writeImage stored: the manifest's descriptor and the descriptors it refers to. */
export interface BuiltImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  platform: Platform;
  format: ImageFormat;
}

export interface IndexSpec {
  images: BuiltImage[];
  /** Default 'oci'; 'docker' writes a manifest list. */
  format?: ImageFormat;
  /** Index annotations (OCI only). */
  annotations?: Record<string, string>;
}
