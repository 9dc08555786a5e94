// The pod sandbox service's public types: what the CRI's RunPodSandbox asks for (PodSandboxConfig,
// trimmed to what a sandbox without a pause container needs), and the record berth keeps per pod
// (persisted as versioned JSON in the metadata `pods` table).

import type { AttachmentRecord } from '../cni/index.ts';
import type { PodRowStatus } from '../metadata/index.ts';

export type PodStatus = PodRowStatus;

/** CRI PodSandboxMetadata. */
export interface PodMetadata {
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
}

/** CRI DNSConfig: written to the pod's /etc/resolv.conf. */
export interface DnsConfig {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

/** CRI PortMapping; only mappings with a host port reach the portmap plugin. */
export interface PodPortMapping {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  containerPort: number;
  hostPort?: number;
  hostIp?: string;
}

/**
 * CRI NamespaceOption, with NODE as `node`. Network and IPC are per pod (`pod`, pinned files) or the
 * host's; PID is per container (`container`), the host's, or per pod (`pod`: held by an infra
 * process, infra.ts).
 */
export interface NamespaceOptions {
  network?: 'pod' | 'node';
  ipc?: 'pod' | 'node';
  pid?: 'container' | 'pod' | 'node';
}

/** What RunPodSandbox asks for. */
export interface RunPodRequest {
  metadata: PodMetadata;
  /** The pod's host name; the pod's name when absent (kubelet always sends one). */
  hostname?: string;
  /** Where the kubelet wants container logs; created if missing. */
  logDirectory?: string;
  dnsConfig?: DnsConfig;
  portMappings?: PodPortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** cgroupfs parent of the pod's containers (`/kubepods/besteffort/pod<uid>`); `/berth` when absent. */
  cgroupParent?: string;
  /** Namespaced sysctls only (sysctls.ts). */
  sysctls?: Record<string, string>;
  namespaces?: NamespaceOptions;
  /** Size of the pod's /dev/shm; 64 MiB when absent (Docker's and containerd's default). */
  shmSizeBytes?: number;
  /** The RuntimeClass handler (`runc`, `crun`); kept for the containers of the pod. */
  runtimeHandler?: string;
}

/** The pinned namespace files of a pod, present while pinned. */
export interface PinnedNamespaces {
  net?: string;
  ipc?: string;
  uts?: string;
  /** The infra process's PID namespace (pods with `namespaces.pid: 'pod'` only). */
  pid?: string;
}

/** The PID 1 of a pod's shared PID namespace; the start time (/proc/<pid>/stat) guards pid reuse. */
export interface InfraProcess {
  pid: number;
  startTime: string;
}

/** Version of the record's shape; a newer berth migrates older records when it reads them. */
export const POD_RECORD_VERSION = 1;

export interface PodRecord {
  recordVersion: typeof POD_RECORD_VERSION;
  id: string;
  /** The row's unique name: `<name>_<namespace>_<uid>_<attempt>`, as containerd names sandboxes. */
  name: string;
  request: RunPodRequest;
  hostname: string;
  createdAt: string;
  /** The process creating the pod: a creation whose process died is rolled back by the next reader. */
  creator?: number;
  /** Pinned namespace files, recorded as soon as they exist so a crash leaves them findable. */
  namespaces: PinnedNamespaces;
  /** The infra process, recorded as soon as it runs; only for a pod-wide PID namespace. */
  infra?: InfraProcess;
  /** The pod's /dev/shm tmpfs mount point, while mounted. */
  shm?: string;
  /**
   * The CNI attachment, recorded before ADD runs (DEL is owed even for a failed ADD, CNI spec section
   * 3), with the final result after. Cleared once DEL succeeded.
   */
  network?: AttachmentRecord;
  /** Who is tearing the pod down now (claim.ts): one CNI DEL at a time per pod. */
  claim?: { pid: number; token: string };
  /** The pod's IPs from the CNI result (first is the primary), kept after stop for status. */
  ips: string[];
  stoppedAt?: string;
}

/** A pod as the service reports it: the record plus the row's status and version. */
export interface Pod extends PodRecord {
  status: PodStatus;
  version: number;
}
