// The services behind berthd's RuntimeService: the same image and container services the CLI builds
// (cli/services.ts), the pod service with the CNI client from the config, and the glue the CRI
// layer needs (image names from CRI image strings, device facts).

import { type ContainerServices, openContainerServices } from '../cli/services.ts';
import { CniClient } from '../cni/index.ts';
import type { Config } from '../config/index.ts';
import { ContainerEvents } from '../cri/container-events.ts';
import { statDevice } from '../cri/device.ts';
import { podView } from '../cri/pod-view.ts';
import type { ContainerRpcDeps } from '../cri/rpc/container-deps.ts';
import type { PodRpcDeps } from '../cri/rpc/pod-sandbox.ts';
import { NotFoundError } from '../errdefs/index.ts';
import { normalizeName } from '../images/index.ts';
import { PodService } from '../pods/index.ts';

export interface RuntimeServices extends AsyncDisposable {
  services: ContainerServices;
  runtime: ContainerRpcDeps & PodRpcDeps;
}

/** A CRI image string (a reference, or an image id `sha256:<config digest>`) → the stored name. */
async function resolveName(services: ContainerServices, ref: string): Promise<string> {
  if (/^(sha256:)?[0-9a-f]{64}$/.test(ref)) {
    const id = ref.startsWith('sha256:') ? ref : `sha256:${ref}`;
    for (const image of services.images.list()) {
      const d = await services.images.inspect(image.name);
      if (d.configDescriptor.digest === id) return d.name;
    }
    throw new NotFoundError(`image ${ref}: not found`);
  }
  return services.images.get(normalizeName(ref)).name;
}

export async function openRuntimeServices(config: Config, configPath?: string): Promise<RuntimeServices> {
  const services = await openContainerServices(config, {
    root: config.root,
    state: config.state,
    ...(configPath === undefined ? {} : { config: configPath }),
  });
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
      images: { resolveName: (ref) => resolveName(services, ref) },
      statDevice,
    },
    [Symbol.asyncDispose]: () => services[Symbol.asyncDispose](),
  };
}
