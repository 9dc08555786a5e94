// The NetworkReady condition of Status (api.proto RuntimeCondition: "NetworkReady means the runtime
// network is up and ready to accept containers which require network"). berth's pod network is CNI;
// it is ready when the conf dir holds a valid network configuration, the one RunPodSandbox would use
// (the first valid file, cni/conf-dir.ts). The kubelet keeps the node NotReady until it is, with the
// reason and message shown in `kubectl describe node`.

import { type ConfDirScan, scanConfDir } from '../cni/index.ts';

/** The reason the kubelet and containerd use for a network not ready (kubelet's NetworkPluginNotReady). */
export const NETWORK_NOT_READY_REASON = 'NetworkPluginNotReady';

export interface NetworkStatus {
  ready: boolean;
  reason: string;
  message: string;
  /** For Status's verbose info: the network found, or why each file was skipped. */
  info: Record<string, unknown>;
}

export function networkStatusOf(confDir: string, scan: ConfDirScan): NetworkStatus {
  const skipped = scan.skipped.map((s) => ({ file: s.file, reason: s.reason }));
  const n = scan.network;
  if (n !== undefined) {
    return {
      ready: true,
      reason: '',
      message: '',
      info: {
        confDir,
        network: {
          name: n.name,
          cniVersion: n.cniVersion,
          file: n.source,
          plugins: n.plugins.map((p) => p.type),
        },
        skipped,
      },
    };
  }
  const why = skipped.length === 0 ? '' : ` (${skipped.map((s) => `${s.file}: ${s.reason}`).join('; ')})`;
  return {
    ready: false,
    reason: NETWORK_NOT_READY_REASON,
    message: `Network plugin returns error: cni config not initialized: no valid network configuration in ${confDir}${why}`,
    info: { confDir, skipped },
  };
}

export async function networkStatus(confDir: string, signal?: AbortSignal): Promise<NetworkStatus> {
  return networkStatusOf(confDir, await scanConfDir(confDir, signal === undefined ? {} : { signal }));
}
