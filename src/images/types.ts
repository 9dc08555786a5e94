// What the image service tells its callers while it works. Other layer-3 folders and the CLI/CRI
// import these types only.
import type { Descriptor } from '../oci/image/index.ts';

/**
 * One layer's (or the manifest's/config's) progress through a pull. `phase` moves forward only:
 * waiting → downloading → (verifying) → extracting → done, or straight to `exists` when the snapshot or
 * blob was already present. `current`/`total` count compressed bytes received.
 */
export type PullPhase =
  | 'resolving'
  | 'waiting'
  | 'downloading'
  | 'extracting'
  | 'done'
  | 'exists'
  // a push's phases (push-image.ts): uploading → pushed, or exists when the registry had the blob
  | 'uploading'
  | 'pushed';

export interface PullProgress {
  /** The blob's digest, or the reference while resolving. */
  id: string;
  kind: 'index' | 'manifest' | 'config' | 'layer';
  phase: PullPhase;
  current: number;
  total: number;
}

export type ProgressListener = (event: PullProgress) => void;

export interface PulledImage {
  /** The normalised reference the image is stored under (`docker.io/library/busybox:latest`). */
  name: string;
  /** The top descriptor (an index or a manifest) as the registry served it. */
  target: Descriptor;
  /** The manifest chosen for this platform. */
  manifest: Descriptor;
  config: Descriptor;
  /** The chain ID of the top layer: the snapshot a container's rootfs is prepared from. */
  chainID: string;
  platform: string;
}
