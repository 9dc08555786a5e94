import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { cgroupDriver } from '../cgroups/index.ts';
import type { Config } from '../config/index.ts';
import { ContainerService, type ImageLookup } from '../containers/index.ts';
import { ContentStore } from '../content/index.ts';
import { contentForPull } from '../images/content-adapter.ts';
import { collectGarbage, type GcOptions, type GcResult, ImageService } from '../images/index.ts';
import { type Metadata, openMetadata } from '../metadata/index.ts';
import { chainCredentials, dockerConfigCredentials, RegistryClient } from '../registry/index.ts';
import { findExecutable, OciRuntimeDriver, type RuntimeName, resolveRuntime } from '../runtime/index.ts';
import { openSnapshotter, type Snapshotter } from '../snapshot/index.ts';
import { applyLayer } from '../unpack/index.ts';
import { installDir } from '../util/install-dir.ts';
import type { GlobalOptions } from './global-options.ts';

// The one place the CLI builds implementations (design.md: only cli and daemon construct them).

export interface ImageServices extends AsyncDisposable {
  images: ImageService;
  content: ContentStore;
  metadata: Metadata;
  snapshotter: Snapshotter;
  /** The garbage collector over these services' stores. */
  collectGarbage(options?: GcOptions): Promise<GcResult>;
}

/** Credentials for the CLI: ~/.docker/config.json (auths, credsStore, credHelpers), as docker does. */
function cliCredentials() {
  const dir = process.env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  return chainCredentials(dockerConfigCredentials(join(dir, 'config.json')));
}

export interface ContainerServices extends ImageServices {
  containers: ContainerService;
}

/** conmon's path: absolute as configured, else found like the runtimes (Debian puts it in /usr/bin). */
function conmonPath(config: Config): string {
  const c = config.runtime.conmon;
  return isAbsolute(c) ? c : findExecutable(c);
}

/** `bin/berth` with the global options this process got: what conmon runs as the cleanup command. */
function selfCommand(config: Config, globals: GlobalOptions): { path: string; args: string[] } {
  const args: string[] = [];
  if (globals.config !== undefined) args.push('--config', resolve(globals.config));
  args.push('--root', config.root, '--state', config.state, 'container', 'cleanup');
  return { path: join(installDir(), 'bin', 'berth'), args };
}

/** One driver per runtime name, made on first use, with its root under `stateDir`. */
export function runtimeDrivers(stateDir: string): (name: RuntimeName) => OciRuntimeDriver {
  const drivers = new Map<RuntimeName, OciRuntimeDriver>();
  return (name) => {
    let d = drivers.get(name);
    if (d === undefined) {
      d = new OciRuntimeDriver(resolveRuntime(name, { stateDir }));
      drivers.set(name, d);
    }
    return d;
  };
}

/** The container service's view of the image store: the image's name, digest, chain ID and config. */
export function imageLookup(images: ImageService): ImageLookup {
  return {
    async resolve(ref) {
      const d = await images.inspect(ref);
      return {
        name: d.name,
        digest: d.target.digest,
        chainID: d.chainID,
        config: d.config,
        configDigest: d.configDescriptor.digest,
      };
    },
  };
}

export async function openContainerServices(
  config: Config,
  globals: GlobalOptions,
): Promise<ContainerServices> {
  const base = await openImageServices(config);
  const containers = new ContainerService({
    metadata: base.metadata,
    snapshotter: base.snapshotter,
    images: imageLookup(base.images),
    runtime: runtimeDrivers(config.state),
    defaultRuntime: config.runtime.default,
    conmonPath: conmonPath(config),
    cgroups: cgroupDriver(),
    dirs: { root: config.root, state: config.state },
    cleanupCommand: selfCommand(config, globals),
  });
  return { ...base, containers, [Symbol.asyncDispose]: base[Symbol.asyncDispose] };
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
    metadata,
    snapshotter,
    collectGarbage: (options = {}) => collectGarbage({ metadata, content, snapshotter }, options),
    async [Symbol.asyncDispose]() {
      await registry.close();
      metadata.close();
    },
  };
}
