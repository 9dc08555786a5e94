// The network berth installs when the conf dir has none (issue 5): a `berth0` bridge with host-local
// IPAM on 10.89.0.0/16 and portmap for the CRI's port mappings. Choices, and why:
// - 10.89.0.0/16: private (RFC 1918) and not the 10.88.0.0/16 that containerd's and podman's default
//   networks use, so berth can run beside either on one host.
// - NO ipMasq, and no default route in the pod: berth must not route pod traffic to the outside by
//   default. Pods reach each other and the host (the bridge is their gateway, isGateway), nothing
//   beyond; an operator who wants egress writes their own conflist (ipMasq: true and a 0.0.0.0/0
//   route). Note that the bridge plugin turns on the host's net.ipv4.ip_forward when isGateway is
//   set (plugins/main/bridge/bridge.go); without a route out of the pod that forwards nothing for it.
// - no `firewall` plugin: it needs firewalld or its own iptables chains, and berth adds no filtering.
// The file is written only when the directory holds no config at all, atomically: a temp file, fsync,
// then link(2) to the final name, which fails with EEXIST instead of replacing a file a second berth
// process (or an administrator) put there meanwhile.

import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../errdefs/index.ts';
import { configFiles } from './conf-dir.ts';
import type { JsonObject } from './types.ts';
import { DEFAULT_CNI_VERSION } from './version.ts';

export const DEFAULT_NETWORK_NAME = 'berth';
export const DEFAULT_BRIDGE = 'berth0';
export const DEFAULT_SUBNET = '10.89.0.0/16';
/** Sorts before the `87-podman-bridge.conflist` kind of files distributions install. */
export const DEFAULT_CONFIG_FILE = '10-berth.conflist';

export interface DefaultNetworkOptions {
  name?: string;
  bridge?: string;
  subnet?: string;
  /** host-local's data dir (default /var/lib/cni/networks). */
  dataDir?: string;
}

/** The default conflist document. */
export function defaultConflist(o: DefaultNetworkOptions = {}): JsonObject {
  const ipam: JsonObject = {
    type: 'host-local',
    ranges: [[{ subnet: o.subnet ?? DEFAULT_SUBNET }]],
    // No `routes`: the pod gets only its subnet's link route (see above).
  };
  if (o.dataDir !== undefined) ipam.dataDir = o.dataDir;
  return {
    cniVersion: DEFAULT_CNI_VERSION,
    name: o.name ?? DEFAULT_NETWORK_NAME,
    plugins: [
      {
        type: 'bridge',
        bridge: o.bridge ?? DEFAULT_BRIDGE,
        isGateway: true,
        // Deliberately off: berth does not NAT pod traffic to the outside by default (see above).
        ipMasq: false,
        hairpinMode: true,
        ipam,
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

/**
 * Writes the default conflist into `dir` if it holds no config file. Returns the path written, or
 * undefined when a config was already there (or appeared while writing).
 */
export async function ensureDefaultConfig(
  dir: string,
  o: DefaultNetworkOptions = {},
): Promise<string | undefined> {
  if ((await configFiles(dir)).length > 0) return undefined;
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const final = join(dir, DEFAULT_CONFIG_FILE);
  // A dot file with no config extension: never read as a config by anyone scanning the dir meanwhile.
  const temp = join(dir, `.${DEFAULT_CONFIG_FILE}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(temp, 'wx', 0o644);
  try {
    await fh.writeFile(`${JSON.stringify(defaultConflist(o), null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(temp, final);
    // The new name is durable only once the directory itself is synced.
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    return final;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return undefined;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
}
