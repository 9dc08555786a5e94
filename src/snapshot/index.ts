import { join } from 'node:path';
import { InvalidArgumentError } from '../errdefs/index.ts';
import type { Metadata } from '../metadata/index.ts';
import { NativeSnapshotter } from './native.ts';
import { OverlaySnapshotter } from './overlay.ts';
import type { Snapshotter } from './types.ts';

export { NativeSnapshotter } from './native.ts';
export { OverlaySnapshotter } from './overlay.ts';
export type * from './types.ts';
export { diskUsage } from './usage.ts';

/** The snapshotter named in the config, storing under `<root>/snapshots/<name>`. */
export function openSnapshotter(name: string, root: string, metadata: Metadata): Snapshotter {
  const dir = join(root, 'snapshots', name);
  if (name === 'overlayfs') return new OverlaySnapshotter(dir, metadata);
  if (name === 'native') return new NativeSnapshotter(dir, metadata);
  throw new InvalidArgumentError(`snapshotter "${name}": unknown (overlayfs or native)`);
}
