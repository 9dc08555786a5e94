// The services behind berthd's RuntimeService: the same image and container services the CLI builds
// (cli/services.ts), the pod service with the CNI client from the config, and the glue the CRI
// layer needs (image names from CRI image strings, device facts).

import { type ContainerServices, openContainerServices } from '../cli/services.ts';
import { CniClient } from '../cni/index.ts';
import type { Config } from '../config/index.ts';
import { ContainerEvents } from '../cri/container-events.ts';
import { statDevice } from '../cri/device.ts';
import { ImageCatalog } from '../cri/image-catalog.ts';
import { podView } from '../cri/pod-view.ts';
import type { ContainerRpcDeps } from '../cri/rpc/container-deps.ts';
import type { PodRpcDeps } from '../cri/rpc/pod-sandbox.ts';
import { InvalidArgumentError, NotFoundError } from '../errdefs/index.ts';
import { normalizeName } from '../images/index.ts';
import { parsePlatform } from '../oci/image/index.ts';
import { PodService } from '../pods/index.ts';

export interface RuntimeServices extends AsyncDisposable {
  services: ContainerServices;
  runtime: ContainerRpcDeps & PodRpcDeps;
}

/**
 * A CRI image string → the stored name CreateContainer uses: the catalog (cri/image-catalog.ts, what
 * ImageStatus answers from) finds the image by id, id prefix, name or `repo@digest`; the name the
 * request gave is kept when it is one of the image's, else the image's first name.
 */
async function resolveName(catalog: ImageCatalog, ref: string): Promise<string> {
  const image = await catalog.resolve(ref);
  if (image === undefined) {
    throw new NotFoundError(`image ${JSON.stringify(ref)}: not found`, { hint: 'pull it first (PullImage)' });
  }
  let wanted: string | undefined;
  try {
    wanted = normalizeName(ref);
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err; // an id, not a reference
  }
  return image.names.find((n) => n.name === wanted)?.name ?? image.names[0]!.name;
}

export async function openRuntimeServices(config: Config, configPath?: string): Promise<RuntimeServices> {
  const services = await openContainerServices(config, {
    root: config.root,
    state: config.state,
    ...(configPath === undefined ? {} : { config: configPath }),
  });
  const platform = config.images.platform === '' ? undefined : parsePlatform(config.images.platform);
  const catalog = new ImageCatalog(services.images, platform);
  const pods = new PodService({
    metadata: services.metadata,
    cni: new CniClient({ binDirs: config.cri.cni_bin_dirs }),
    cniConfDir: config.cri.cni_conf_dir,
    dirs: { state: config.state },
    installDefaultNetwork: true,
  });
  return {
    services,
    runtime: {
      containers: services.containers,
      pods,
      events: new ContainerEvents(services.containers, pods),
      podViews: { view: (id) => podView(pods, id) },
      images: { resolveName: (ref) => resolveName(catalog, ref) },
      statDevice,
    },
    [Symbol.asyncDispose]: () => services[Symbol.asyncDispose](),
  };
}
