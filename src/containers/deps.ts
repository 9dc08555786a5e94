// What the container service is built from. Only the CLI and the daemon construct these (design.md
// layer 5); tests construct them the same way, on temp dirs, with the real runtime and conmon.

import type { CgroupDriver } from '../cgroups/types.ts';
import type { Metadata } from '../metadata/index.ts';
import type { OciRuntime, RuntimeName } from '../runtime/types.ts';
import type { Snapshotter } from '../snapshot/types.ts';
import type { ContainerDirs } from './layout.ts';
import type { ContainerImage } from './types.ts';

/** Finds an image already in the store (the caller pulls first when it wants to). */
export interface ImageLookup {
  resolve(ref: string): Promise<ContainerImage>;
}

export interface ContainerServiceDeps {
  metadata: Pick<Metadata, 'containers' | 'transaction'>;
  snapshotter: Snapshotter;
  images: ImageLookup;
  /** The driver for a runtime by name (runc, crun). */
  runtime(name: RuntimeName): OciRuntime;
  defaultRuntime: RuntimeName;
  /** Absolute path of conmon. */
  conmonPath: string;
  cgroups: CgroupDriver;
  dirs: ContainerDirs;
  /**
   * A command conmon runs when a container started without anyone waiting for it exits (`berth …
   * container cleanup <id>`): it records the exit, unmounts, and removes an `--rm` container at once,
   * as podman's `container cleanup` does. The container id is appended.
   */
  cleanupCommand?: { path: string; args: readonly string[] };
}
