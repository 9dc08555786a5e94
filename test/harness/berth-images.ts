import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { ContentStore } from '../../src/content/index.ts';
import { contentForPull } from '../../src/images/content-adapter.ts';
import { ImageService } from '../../src/images/index.ts';
import { type Metadata, openMetadata } from '../../src/metadata/index.ts';
import { type Credentials, RegistryClient, staticCredentials } from '../../src/registry/index.ts';
import { openSnapshotter } from '../../src/snapshot/index.ts';
import type { Snapshotter } from '../../src/snapshot/types.ts';
import { applyLayer } from '../../src/unpack/index.ts';
import { tempDir } from './tmp.ts';

export interface TestImageServices {
  root: string;
  images: ImageService;
  content: ContentStore;
  metadata: Metadata;
  snapshotter: Snapshotter;
  registry: RegistryClient;
}

export interface TestImageServicesOptions {
  snapshotter?: 'overlayfs' | 'native';
  host?: string;
  creds?: Credentials;
  root?: string;
  /** The registry client's stall timeout (default: the client's own 60 s): short for stall tests. */
  stallTimeoutMs?: number;
}

/**
 * berth's image services on a fresh temp root, wired as the CLI wires them, with explicit
 * credentials for one registry host instead of ~/.docker/config.json. Closed when the test ends.
 */
export async function testImageServices(
  t: Pick<TestContext, 'after'>,
  options: TestImageServicesOptions = {},
): Promise<TestImageServices> {
  const root = options.root ?? tempDir(t, 'root');
  const content = await ContentStore.create(join(root, 'content'));
  const metadata = openMetadata(root);
  const registry = new RegistryClient({
    ...(options.host !== undefined && options.creds !== undefined
      ? { credentials: staticCredentials(options.host, options.creds) }
      : {}),
    retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 200 },
    ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
  });
  t.after(async () => {
    await registry.close();
    metadata.close();
  });
  const snapshotter = openSnapshotter(options.snapshotter ?? 'overlayfs', root, metadata);
  const images = new ImageService({
    registry,
    content: contentForPull(content),
    metadata,
    snapshotter,
    applyLayer,
    maxConcurrentDownloads: 3,
    maxConfigSize: 8 * 1024 * 1024,
  });
  return { root, images, content, metadata, snapshotter, registry };
}
