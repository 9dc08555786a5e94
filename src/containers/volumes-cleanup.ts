// What a removed container leaves on disk besides its snapshot: its anonymous volumes and its data
// directory (the log). Only paths berth made are removed: anonymous volume directories lie under
// `<root>/volumes` by construction, and a record naming anything else is refused rather than obeyed.

import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DataLossError } from '../errdefs/index.ts';
import { type ContainerDirs, containerPaths } from './layout.ts';
import type { ContainerRecord } from './types.ts';

export async function removeContainerFiles(dirs: ContainerDirs, record: ContainerRecord): Promise<void> {
  const paths = containerPaths(dirs, record.id);
  for (const dir of record.anonymousVolumes) {
    if (dirname(dir) !== paths.volumesDir) {
      throw new DataLossError(
        `container ${record.name}: anonymous volume ${dir} is outside ${paths.volumesDir}`,
      );
    }
    await rm(dir, { recursive: true, force: true });
  }
  await rm(paths.dataDir, { recursive: true, force: true });
}
