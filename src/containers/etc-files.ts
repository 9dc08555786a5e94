// /etc/hostname, /etc/hosts and /etc/resolv.conf, written per container into its bundle and
// bind-mounted over the image's (docker and containerd's CRI do the same, so the image's files are
// never changed and every container gets its own). With `--net none` the container's network
// namespace has only a loopback device, so nameservers on the host's loopback (systemd-resolved's
// 127.0.0.53, a local dnsmasq) would point at nothing: they are dropped, as docker drops them.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../errdefs/index.ts';
import type { Mount } from '../oci/runtime/index.ts';
import { hostsFile, resolvConfFromHost } from '../spec/index.ts';
import type { NetworkMode } from './types.ts';

export const HOST_RESOLV_CONF = '/etc/resolv.conf';
/** Read at most this much of the host's resolv.conf (glibc reads a few lines anyway). */
const MAX_RESOLV_CONF = 64 * 1024;

/** The host's resolv.conf for this network mode (loopback nameservers dropped unless `host`). */
export function resolvConf(host: string, network: NetworkMode): string {
  return resolvConfFromHost(host.slice(0, MAX_RESOLV_CONF), network === 'host');
}

async function readHostResolvConf(): Promise<string> {
  try {
    return await readFile(HOST_RESOLV_CONF, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return '';
    throw err;
  }
}

/**
 * Writes the three files into `bundle` and returns the bind mounts that put them in place. A file the
 * pod already wrote (`fromPod`, shared by its containers) is bound instead of a new one.
 */
export async function writeEtcFiles(
  bundle: string,
  hostname: string,
  network: NetworkMode,
  fromPod: { hostname?: string; hosts?: string; resolvConf?: string } = {},
): Promise<Mount[]> {
  const files: [string, string | undefined, () => Promise<string> | string][] = [
    ['hostname', fromPod.hostname, () => `${hostname}\n`],
    ['hosts', fromPod.hosts, () => hostsFile(hostname)],
    ['resolv.conf', fromPod.resolvConf, async () => resolvConf(await readHostResolvConf(), network)],
  ];
  return Promise.all(
    files.map(async ([name, given, text]) => {
      const source = given ?? join(bundle, name);
      if (given === undefined) await writeFile(source, await text(), { mode: 0o644 });
      return { destination: `/etc/${name}`, type: 'bind', source, options: ['rbind', 'rprivate'] };
    }),
  );
}
