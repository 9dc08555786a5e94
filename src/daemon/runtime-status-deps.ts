// What berthd's Status, RuntimeConfig and UpdateRuntimeConfig answer from: the CNI conf dir to judge
// NetworkReady by, the settings the kubelet sends, and the configuration berthd runs with (shown in
// Status's verbose info, as containerd shows its CRI config; berth's config holds no secrets:
// credentials live in registry hosts files and the requests).

import type { Config } from '../config/index.ts';
import { RuntimeSettings, type RuntimeStatusDeps } from '../cri/index.ts';

export function runtimeStatusDeps(config: Config): RuntimeStatusDeps {
  return {
    cniConfDir: config.cri.cni_conf_dir,
    settings: new RuntimeSettings(),
    config: { ...config },
  };
}
