// RunPodSandbox: the row first (status `creating`, reserving the name across berth processes), then
// the pod dir and log dir, the pinned namespaces, the infra process and its pinned PID namespace
// (only for a pod-wide PID namespace, infra.ts), the /dev/shm tmpfs, the CNI attachment (recorded
// before ADD, since a DEL is owed even for a failed ADD), the /etc files; then status `ready`. Each
// resource is recorded as soon as it exists. On any failure everything is undone (teardown.ts) and the
// row removed, so a failed run leaves nothing behind; if the undo itself fails, the row stays
// `creating` with no creator and the next reader (service.ts `refresh`) tries the undo again.
// The undo never uses the caller's signal: an aborted run must still clean up.

import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import {
  type CniClient,
  type DefaultNetworkOptions,
  ensureDefaultConfig,
  loadNetwork,
  type NetworkConfigList,
  podIps,
} from '../cni/index.ts';
import { InternalError, NotFoundError } from '../errdefs/index.ts';
import type { ProcessRunner } from '../runtime/index.ts';
import { writePodEtcFiles } from './etc-files.ts';
import { pinPidNamespace, startInfra } from './infra.ts';
import { podPaths } from './layout.ts';
import { type PinnableNamespace, pinNamespaces } from './namespaces.ts';
import { podAttachment } from './network.ts';
import type { PodRecords } from './records.ts';
import { mountShm } from './shm.ts';
import { removePodDir, type TeardownDeps, teardownPod } from './teardown.ts';
import { POD_RECORD_VERSION, type Pod, type RunPodRequest } from './types.ts';
import { checkRunRequest, podName } from './validate.ts';

export interface RunDeps extends TeardownDeps {
  cni: Pick<CniClient, 'add' | 'del'>;
  cniConfDir: string;
  /** Install berth's default conflist when the conf dir holds none (false: never; options: how). */
  installDefaultNetwork?: boolean | DefaultNetworkOptions;
  hostname: () => string;
  hostFiles?: { hosts?: string; resolvConf?: string };
  runner?: ProcessRunner;
}

export function newPodId(): string {
  return randomBytes(32).toString('hex');
}

export async function runPod(
  deps: RunDeps,
  records: PodRecords,
  req: RunPodRequest,
  opts: { signal?: AbortSignal },
): Promise<Pod> {
  const checked = checkRunRequest(req, deps.hostname());
  // The network is read before anything is made: a node without a network config fails here.
  const network = checked.hostNetwork ? undefined : await podNetwork(deps, opts.signal);
  const id = newPodId();
  const paths = podPaths(deps.dirs, id);
  const tool = {
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    ...(deps.runner === undefined ? {} : { runner: deps.runner }),
  };
  let p = records.insert('creating', {
    recordVersion: POD_RECORD_VERSION,
    id,
    name: podName(checked.request.metadata),
    request: checked.request,
    hostname: checked.hostname,
    createdAt: new Date().toISOString(),
    creator: process.pid,
    namespaces: {},
    ips: [],
  });
  try {
    await mkdir(paths.dir, { recursive: true, mode: 0o755 });
    if (req.logDirectory) await mkdir(req.logDirectory, { recursive: true, mode: 0o755 });
    const kinds: PinnableNamespace[] = [];
    if (!checked.hostNetwork) kinds.push('net', 'uts');
    if (!checked.hostIpc) kinds.push('ipc');
    const namespaces = await pinNamespaces(paths, kinds, { ...tool, hostname: checked.hostname });
    p = records.save(p, 'creating', { namespaces });
    if (checked.request.namespaces?.pid === 'pod') {
      const infra = await startInfra(id);
      p = records.save(p, 'creating', { infra });
      const pid = await pinPidNamespace(paths, infra, opts.signal);
      p = records.save(p, 'creating', { namespaces: { ...namespaces, pid } });
    }
    if (!checked.hostIpc) {
      await mountShm(paths.shm, checked.shmSize, opts.signal);
      p = records.save(p, 'creating', { shm: paths.shm });
    }
    if (network !== undefined) {
      const attachment = podAttachment(id, namespaces.net!, checked.request.metadata, req.portMappings);
      p = records.save(p, 'creating', { network: { network, attachment } });
      const added = await deps.cni.add(network, attachment, opts);
      p = records.save(p, 'creating', {
        network: { network, attachment, result: added.result },
        ips: podIps(added.parsed),
      });
    }
    await writePodEtcFiles(paths, {
      hostname: checked.hostname,
      ips: p.ips,
      hostNetwork: checked.hostNetwork,
      ...(req.dnsConfig === undefined ? {} : { dns: req.dnsConfig }),
      ...(deps.hostFiles?.hosts === undefined ? {} : { hostHosts: deps.hostFiles.hosts }),
      ...(deps.hostFiles?.resolvConf === undefined ? {} : { hostResolvConf: deps.hostFiles.resolvConf }),
    });
    return records.save(p, 'ready', { creator: undefined });
  } catch (err) {
    await rollback(deps, records, id, err);
    throw err;
  }
}

/** The network pods attach to: the first valid config of the conf dir (installing berth's if none). */
export async function podNetwork(
  deps: Pick<RunDeps, 'cniConfDir' | 'installDefaultNetwork'>,
  signal?: AbortSignal,
): Promise<NetworkConfigList> {
  const install = deps.installDefaultNetwork;
  if (install !== undefined && install !== false) {
    await ensureDefaultConfig(deps.cniConfDir, install === true ? {} : install);
  }
  return loadNetwork(deps.cniConfDir, signal === undefined ? {} : { signal });
}

/** Undoes a failed creation; on an undo failure the row is left for `refresh` to retry. */
export async function rollback(
  deps: TeardownDeps,
  records: PodRecords,
  id: string,
  cause: unknown,
): Promise<void> {
  let latest: Pod;
  try {
    latest = records.get(id);
  } catch (err) {
    // Another process (a reader that found the creator dead) undid it already.
    if (err instanceof NotFoundError) return;
    throw err;
  }
  try {
    await teardownPod(deps, latest);
    await removePodDir(deps.dirs, id);
  } catch (undoErr) {
    records.save(latest, 'creating', { creator: undefined });
    throw new InternalError(
      `pod ${latest.name}: creation failed (${cause instanceof Error ? cause.message : String(cause)}), and undoing it failed too: ${undoErr instanceof Error ? undoErr.message : String(undoErr)}`,
      { cause: undoErr, hint: 'berth retries the cleanup the next time it looks at the pod' },
    );
  }
  try {
    records.delete(id);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}
