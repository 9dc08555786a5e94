import type { Config } from '../config/index.ts';
import type { GlobalOptions } from './global-options.ts';
import type { ContainerServices, ImageServices } from './services.ts';

// Commands load the services (content store, SQLite, undici, the unpacker…) only when they run, so
// `berth --version` and `berth --help` stay at Node's start-up cost (docs/performance.md).
export async function openImageServices(config: Config): Promise<ImageServices> {
  const services = await import('./services.ts');
  return services.openImageServices(config);
}

export async function openContainerServices(
  config: Config,
  globals: GlobalOptions,
): Promise<ContainerServices> {
  const services = await import('./services.ts');
  return services.openContainerServices(config, globals);
}
