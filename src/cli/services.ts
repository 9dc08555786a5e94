import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/index.ts';
import { ContentStore } from '../content/index.ts';
import { contentForPull } from '../images/content-adapter.ts';
import { collectGarbage, type GcOptions, type GcResult, ImageService } from '../images/index.ts';
import { openMetadata } from '../metadata/index.ts';
import { chainCredentials, dockerConfigCredentials, RegistryClient } from '../registry/index.ts';
import { openSnapshotter } from '../snapshot/index.ts';
import { applyLayer } from '../unpack/index.ts';

// The one place the CLI builds implementations (design.md: only cli and daemon construct them).

export interface ImageServices extends AsyncDisposable {
  images: ImageService;
  content: ContentStore;
  /** The garbage collector over these services' stores. */
  collectGarbage(options?: GcOptions): Promise<GcResult>;
}

/** Credentials for the CLI: ~/.docker/config.json (auths, credsStore, credHelpers), as docker does. */
function cliCredentials() {
  const dir = process.env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  return chainCredentials(dockerConfigCredentials(join(dir, 'config.json')));
}

export async function openImageServices(config: Config): Promise<ImageServices> {
  const content = await ContentStore.create(join(config.root, 'content'));
  const metadata = openMetadata(config.root);
  const registry = new RegistryClient({
    hostsDir: config.registry.config_path,
    credentials: cliCredentials(),
  });
  const snapshotter = openSnapshotter(config.images.snapshotter, config.root, metadata);
  const images = new ImageService({
    registry,
    content: contentForPull(content),
    metadata,
    snapshotter,
    applyLayer,
    maxConcurrentDownloads: config.images.max_concurrent_downloads,
    maxConfigSize: config.images.max_config_size,
  });
  return {
    images,
    content,
    collectGarbage: (options = {}) => collectGarbage({ metadata, content, snapshotter }, options),
    async [Symbol.asyncDispose]() {
      await registry.close();
      metadata.close();
    },
  };
}
