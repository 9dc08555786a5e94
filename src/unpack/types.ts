// The plain data of a layer apply: what the caller asks for and what it gets back. Other layer-3
// folders (snapshot, images) import only this file; the implementation is behind index.ts.

/**
 * How image-spec whiteouts (layer.md "Whiteouts") are written:
 * - 'overlay': each layer is its own directory stacked by overlayfs. `.wh.NAME` becomes a 0/0
 *   character device NAME and `.wh..wh..opq` the xattr `trusted.overlay.opaque=y` on its directory
 *   (the kernel's overlayfs.rst "whiteouts and opaque directories").
 * - 'apply': the target already holds the parent layers' content (a native snapshot copy);
 *   `.wh.NAME` deletes NAME recursively and `.wh..wh..opq` deletes the directory's entries that this
 *   layer did not itself write.
 * Whiteout files themselves are never created.
 */
export type WhiteoutMode = 'overlay' | 'apply';

export interface ApplyLayerOptions {
  /** The layer descriptor's media type: OCI or Docker tar, tar+gzip, tar+zstd, incl. nondistributable/foreign. */
  mediaType: string;
  /** Expected digest of the bytes as read (compressed), `sha256:…` or `sha512:…`. */
  digest?: string;
  /** Expected number of bytes as read (compressed). */
  size?: number;
  /** Expected digest of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffID?: string;
  /** An existing directory; see index.ts for what it holds after a failure. */
  target: string;
  whiteouts: WhiteoutMode;
  /** Apply the entries' uid/gid. Default: only when running as root (chown needs CAP_CHOWN). */
  sameOwner?: boolean;
  /** Allow character/block device entries (fifos are always allowed). Default true, as containerd. */
  devices?: boolean;
  /**
   * The input's chunks are handed over: each one's ArrayBuffer is transferred to the unpack worker
   * (detached here) instead of copied. Only for a stream that emits buffers of its own, shares none
   * with another chunk or object, and never touches one again once emitted (the pull's download).
   */
  transferInput?: boolean;
  /**
   * With transferInput: each chunk's ArrayBuffer, back from the worker once it applied the chunk,
   * for the producer to fill again instead of allocating a new one. Without it the buffer is dropped.
   */
  returnInput?: (buffer: ArrayBuffer) => void;
  signal?: AbortSignal;
}

export interface ApplyLayerResult {
  /** Digest of the bytes read, in the algorithm of `digest` (sha256 when none was given). */
  digest: string;
  /** sha256 (or the algorithm of the given diffID) of the uncompressed tar. */
  diffID: string;
  /** Bytes read (compressed size). */
  size: number;
  /** Bytes of the uncompressed tar, end-of-archive padding included. */
  uncompressedSize: number;
  /** Tar entries seen (extended headers not counted), including whiteouts and the skipped root. */
  entries: number;
}
