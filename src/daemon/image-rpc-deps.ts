// The image side of berthd's CRI: the ImageService RPCs' dependencies, built over the image services
// berthd opened (the CLI's construction, cli/services.ts). What only a daemon needs is made here:
//   - a pull with the request's credentials gets a registry client of its own, which sends them to
//     their host only and is closed after the pull (one pod's pull secret never serves, nor leaves a
//     cached token for, another pod's pull);
//   - garbage collections run one at a time, and a removal arriving while one runs waits for a
//     single next one instead of queueing its own;
//   - the image filesystem's usage is measured by du, shared by callers for a few seconds.

import { join } from 'node:path';
import type { Config } from '../config/index.ts';
import { ImageCatalog, type ImageRpcDeps, measureUsage, PinnedImages, UsageCache } from '../cri/index.ts';
import { type GcResult, ImageService } from '../images/index.ts';
import { parsePlatform } from '../oci/image/index.ts';
import { RegistryClient, staticCredentials } from '../registry/index.ts';

export interface ImageStore {
  images: ImageService;
  collectGarbage(): Promise<GcResult>;
}

/** Runs `fn` one call at a time; callers arriving while one waits to start share that one. */
function serialized(fn: () => Promise<unknown>): () => Promise<void> {
  let tail: Promise<unknown> = Promise.resolve();
  let waiting: Promise<void> | undefined;
  return () => {
    if (waiting !== undefined) return waiting;
    const run = tail.then(() => {
      waiting = undefined; // from here on, a new caller needs a run after this one
      return fn();
    });
    waiting = run.then(() => undefined);
    tail = run.catch(() => undefined); // the failure goes to this run's callers, not the next run
    return waiting;
  };
}

export function imageRpcDeps(config: Config, store: ImageStore, log: (line: string) => void): ImageRpcDeps {
  const platform = config.images.platform === '' ? undefined : parsePlatform(config.images.platform);
  const snapshotDir = join(config.root, 'snapshots', config.images.snapshotter);
  const usage = new UsageCache((signal) => measureUsage(snapshotDir, signal));
  // What a pull adds or a collection frees shows in the next ImageFsInfo, not USAGE_MAX_AGE_MS later.
  const gc = serialized(() => store.collectGarbage().finally(() => usage.invalidate()));
  return {
    catalog: new ImageCatalog(store.images, platform),
    pinned: new PinnedImages(config.cri.pinned_images),
    async pull(ref, { credentials, signal }) {
      const options = { signal, ...(platform === undefined ? {} : { platform }) };
      try {
        if (credentials === undefined) return await store.images.pull(ref, options);
        const registry = new RegistryClient({
          hostsDir: config.registry.config_path,
          credentials: staticCredentials(credentials.host, credentials.credentials),
        });
        try {
          return await new ImageService({ ...store.images.deps, registry }).pull(ref, options);
        } finally {
          await registry.close();
        }
      } finally {
        usage.invalidate(); // a failed pull may have unpacked layers too
      }
    },
    async removeName(name) {
      await store.images.remove(name);
    },
    collectGarbage: () => gc(),
    usage: (signal) => usage.get(signal),
    imageFsMountpoint: snapshotDir,
    log,
  };
}
