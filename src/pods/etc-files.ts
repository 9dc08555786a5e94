// A pod's /etc/hostname, /etc/hosts and /etc/resolv.conf: written once per pod under its dir and
// bind-mounted into every container of the pod, so the containers agree (containerd's CRI keeps them
// per sandbox too). With the host's network the host's /etc/hosts and /etc/resolv.conf are copied, as
// containerd does; otherwise /etc/hosts holds the localhost entries plus the pod's IPs for its host
// name (Docker and Podman add that line; kubelet usually mounts its own /etc/hosts over it anyway).

import { open, writeFile } from 'node:fs/promises';
import { isErrno } from '../errdefs/index.ts';
import { hostsFile, resolvConfFromHost } from '../spec/index.ts';
import { isEmptyDns, renderResolvConf } from './dns.ts';
import type { PodPaths } from './layout.ts';
import type { DnsConfig } from './types.ts';

export const HOST_HOSTS = '/etc/hosts';
export const HOST_RESOLV_CONF = '/etc/resolv.conf';
/** Read at most this much of a host file: they are a few lines, and a huge one is not ours to copy. */
export const MAX_HOST_FILE = 64 * 1024;

async function readHostFile(path: string): Promise<string> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return '';
    throw err;
  }
  try {
    const buf = Buffer.alloc(MAX_HOST_FILE);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

export interface EtcInputs {
  hostname: string;
  ips: readonly string[];
  hostNetwork: boolean;
  dns?: DnsConfig;
  /** Host files to copy (tests point these elsewhere). */
  hostHosts?: string;
  hostResolvConf?: string;
}

/** Writes the pod's three files; they are bind-mounted by podSpecOpts. */
export async function writePodEtcFiles(paths: PodPaths, inputs: EtcInputs): Promise<void> {
  const hosts = inputs.hostNetwork
    ? await readHostFile(inputs.hostHosts ?? HOST_HOSTS)
    : hostsFile(inputs.hostname, inputs.ips);
  const resolv = isEmptyDns(inputs.dns)
    ? resolvConfFromHost(await readHostFile(inputs.hostResolvConf ?? HOST_RESOLV_CONF), inputs.hostNetwork)
    : renderResolvConf(inputs.dns!);
  await Promise.all([
    writeFile(paths.hostname, `${inputs.hostname}\n`, { mode: 0o644 }),
    writeFile(paths.hosts, hosts, { mode: 0o644 }),
    writeFile(paths.resolvConf, resolv, { mode: 0o644 }),
  ]);
}
