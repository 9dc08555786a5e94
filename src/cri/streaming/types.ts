// What the Exec, Attach and PortForward RPCs hand the stream server, and what they get back: the
// request is kept under a one-time token and the client connects to the URL naming it (design as the
// kubelet's streaming server, k8s.io/kubelet/pkg/cri/streaming/server.go).

import type { ContainerService } from '../../containers/index.ts';
import type { PodService } from '../../pods/index.ts';

export interface ExecStreamingRequest {
  kind: 'exec';
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface AttachStreamingRequest {
  kind: 'attach';
  containerId: string;
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface PortForwardStreamingRequest {
  kind: 'portforward';
  podSandboxId: string;
  /** The ports the caller named (informational: the SPDY client names the port of each stream). */
  ports: number[];
}

export type StreamingRequest = ExecStreamingRequest | AttachStreamingRequest | PortForwardStreamingRequest;

/** The stream server as the RPCs see it. */
export interface StreamUrls {
  /** Keeps `req` under a new one-time token; the absolute URL to connect to, valid TOKEN_TTL_MS. */
  urlFor(req: StreamingRequest): string;
}

/** What the stream server serves from. */
export interface StreamingDeps {
  containers: ContainerService;
  pods: PodService;
}
