// What the ImageService RPCs are built from (berthd constructs them, src/daemon/image-rpc-deps.ts):
// the catalog over the image store, the pinned list, and the store's operations as plain functions.

import type { PulledImage } from '../../images/index.ts';
import type { FsUsage } from '../fs-usage.ts';
import type { ImageCatalog } from '../image-catalog.ts';
import type { PinnedImages } from '../pinned-images.ts';
import type { PullCredentials } from '../pull-auth.ts';

export interface ImageRpcDeps {
  catalog: ImageCatalog;
  pinned: PinnedImages;
  /**
   * Pulls `ref` (a full reference) for this node's platform. With `credentials`, the pull gets its
   * own registry client that sends them to their host only, so that one pod's pull secret is never
   * used (or cached as a token) for another's pull.
   */
  pull(ref: string, opts: { credentials?: PullCredentials; signal: AbortSignal }): Promise<PulledImage>;
  /** Removes one stored name; NotFoundError when it is gone already. */
  removeName(name: string): Promise<void>;
  /**
   * Frees what removed images leave behind (blobs, snapshots no one uses). Takes no signal: a
   * collection decides in one transaction and then deletes; a caller going away does not stop it.
   */
  collectGarbage(): Promise<void>;
  /** The image filesystem's usage (cached: fs-usage.ts). */
  usage(signal: AbortSignal): Promise<FsUsage>;
  /** Where unpacked layers live: <root>/snapshots/<snapshotter>. */
  imageFsMountpoint: string;
  log(line: string): void;
}
