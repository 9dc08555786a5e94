// The container lifecycle service's public types: what a person (the CLI) or the CRI asks for, and the
// record berth keeps per container (persisted as versioned JSON in the metadata database).

import type { ContainerRowStatus } from '../metadata/index.ts';
import type { ImageConfig } from '../oci/image/index.ts';
import type { Device, Mount, NamespaceType, Resources, Seccomp, Spec } from '../oci/runtime/index.ts';
import type { RuntimeName } from '../runtime/types.ts';

export type ContainerStatus = ContainerRowStatus;

/** How the container is networked until CNI arrives (issue 5): its own empty netns, or the host's. */
export type NetworkMode = 'none' | 'host';

/** A bind of a host path (or a fresh anonymous volume) into the container. */
export interface VolumeSpec {
  /** Host path; absent for an anonymous volume (a new directory under berth's root). */
  source?: string;
  destination: string;
  readonly: boolean;
}

/** A namespace the container joins (a pod's pinned file) or shares with the host, instead of a new one. */
export interface NamespaceJoin {
  type: NamespaceType;
  /** A pinned namespace file (`/run/berth/pods/<id>/ns/net`); absent: the host's namespace. */
  path?: string;
}

/** The seccomp filter: the default profile, none, or a profile file on the host (CRI `localhost/…`). */
export type SeccompChoice =
  | { kind: 'runtime-default' }
  | { kind: 'unconfined' }
  | { kind: 'localhost'; path: string }
  | { kind: 'profile'; seccomp: Seccomp };

/**
 * What a pod (the CRI) sets on its containers beyond the CLI's options: plain data, kept in the record,
 * turned into spec options by pod-opts.ts. Each field mirrors a CRI LinuxContainerConfig /
 * ContainerConfig field (api.proto), already validated and translated by the caller.
 */
export interface PodSettings {
  namespaces?: NamespaceJoin[];
  /** The pod's cgroup parent (cgroupfs path); the container's cgroup is `<parent>/<id>`. */
  cgroupParent?: string;
  annotations?: Record<string, string>;
  /** Validated by the caller (only namespaced sysctls). */
  sysctls?: Record<string, string>;
  /** Mounts added after the defaults and volumes (propagation, recursive read-only in options). */
  mounts?: Mount[];
  devices?: Device[];
  seccomp?: SeccompChoice;
  /** Replace the default masked / read-only paths (CRI masked_paths, readonly_paths). */
  maskedPaths?: string[];
  readonlyPaths?: string[];
  noNewPrivileges?: boolean;
  /** Extra group ids for the process (CRI supplemental_groups). */
  supplementalGroups?: number[];
  /** Merged over the limits from memory/cpus/pidsLimit. */
  resources?: Resources;
  /** Host files the pod wrote, bind-mounted instead of the container's own. */
  etcFiles?: { hostname?: string; hosts?: string; resolvConf?: string };
  /** conmon writes the CRI log here instead of `<root>/containers/<id>/ctr.log` (kubelet's path). */
  logPath?: string;
  /** Clamped to the host's own value: root here lacks CAP_SYS_RESOURCE to go lower. */
  oomScoreAdj?: number;
  /** Close the container's stdin when the first attached client hangs up (CRI stdin_once). */
  stdinOnce?: boolean;
}

/** Everything `berth create` / `berth run` accepts, after the CLI has parsed it. */
export interface CreateRequest {
  /** The image reference as given; it must be present in the image store. */
  image: string;
  name?: string;
  /** Arguments after the image; they replace the image's Cmd. */
  args?: string[];
  entrypoint?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  hostname?: string;
  network?: NetworkMode;
  volumes?: VolumeSpec[];
  /** Bytes; absent: no limit. */
  memory?: number;
  cpus?: number;
  pidsLimit?: number;
  readonlyRootfs?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  tty?: boolean;
  /** Keep stdin open for an attached client (`-i`). */
  stdin?: boolean;
  runtime?: RuntimeName;
  /** Remove the container when it exits (`--rm`). */
  autoRemove?: boolean;
  labels?: Record<string, string>;
  /** Set by the CRI for a pod's containers. */
  pod?: PodSettings;
}

/** The image a container was created from, copied so the container outlives `berth rmi`. */
export interface ContainerImage {
  /** The full name it was created from (`docker.io/library/busybox:latest`). */
  name: string;
  /** The manifest (or index) digest the name pointed at. */
  digest: string;
  /** The top layer's chain ID: the snapshot the container's rootfs is prepared on. */
  chainID: string;
  config: ImageConfig;
  /** The config's digest: the image id the CRI reports (absent in records older than it). */
  configDigest?: string;
}

/** Version of the record's shape; a newer berth migrates older records when it reads them. */
export const CONTAINER_RECORD_VERSION = 1;

export interface ContainerRecord {
  recordVersion: typeof CONTAINER_RECORD_VERSION;
  id: string;
  name: string;
  image: ContainerImage;
  request: CreateRequest;
  runtime: RuntimeName;
  snapshotter: string;
  snapshotKey: string;
  /** Host directories of anonymous volumes, removed with the container. */
  anonymousVolumes: string[];
  createdAt: string;
  /** Times the container was started (a restart of a stopped container counts). */
  startCount: number;
  startedAt?: string;
  finishedAt?: string;
  /** From conmon's exit file; 128+N for a signal. Absent while running or when the shim was lost. */
  exitCode?: number;
  oomKilled?: boolean;
  /** Why the last start or run ended abnormally ("shim lost", the runtime's message). */
  error?: string;
  /** The spec the current (or last) run was created with. */
  spec?: Spec;
  /** While running: conmon's pid and the container's init pid. */
  conmonPid?: number;
  pid?: number;
  /** The process doing a start: a start whose process died is rolled back by the next reader. */
  starter?: number;
  /** The CRI log conmon writes. */
  logPath: string;
}

/** A container as the service reports it: the record plus the row's status and version. */
export interface Container extends ContainerRecord {
  status: ContainerStatus;
  version: number;
}
