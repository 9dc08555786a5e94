// berthd's gRPC server: runtime.v1 RuntimeService and ImageService over HTTP/2 on a unix socket.
//
//   crictl / kubelet ──gRPC (HTTP/2, h2c)──▶ node:http2 server ──▶ connect-node adapter (gRPC protocol
//   only) ──▶ interceptor (berth errors → gRPC codes) ──▶ one function per RPC in rpc/
//
// Methods without an implementation answer Unimplemented (connect's router does that for methods
// left out of a service); paths of unknown services (e.g. runtime.v1alpha2) too, via `fallback`.

import type { Http2Server, Http2ServerRequest, Http2ServerResponse, ServerHttp2Session } from 'node:http2';
import { createServer } from 'node:http2';
import { Code, type ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { mapErrors } from './errors.ts';
import { ImageService, RuntimeService } from './gen/api_pb.js';
import type { ContainerRpcDeps } from './rpc/container-deps.ts';
import { removeContainer, startContainer, stopContainer } from './rpc/container-lifecycle.ts';
import { reopenContainerLog, updateContainerResources } from './rpc/container-maintenance.ts';
import { containerStats, listContainerStats } from './rpc/container-stats.ts';
import { createContainer } from './rpc/create-container.ts';
import { execSync } from './rpc/exec-sync.ts';
import type { ImageRpcDeps } from './rpc/image-deps.ts';
import { imageFsInfo } from './rpc/image-fs-info.ts';
import { imageStatus } from './rpc/image-status.ts';
import { containerStatus, listContainers } from './rpc/list-containers.ts';
import { listImages } from './rpc/list-images.ts';
import {
  listPodSandbox,
  type PodRpcDeps,
  podSandboxStatus,
  removePodSandbox,
  runPodSandbox,
  stopPodSandbox,
} from './rpc/pod-sandbox.ts';
import { listPodSandboxStats, podSandboxStats } from './rpc/pod-sandbox-stats.ts';
import { pullImage } from './rpc/pull-image.ts';
import { removeImage } from './rpc/remove-image.ts';
import { runtimeConfig } from './rpc/runtime-config.ts';
import { type RuntimeStatusDeps, status } from './rpc/status.ts';
import { updateRuntimeConfig } from './rpc/update-runtime-config.ts';
import { type VersionDeps, version } from './rpc/version.ts';
import { type StreamUrls, streamingRpcs } from './streaming/index.ts';
import { listenUnix } from './unix-socket.ts';

/** Largest request or response message: CRI-O's gRPC limit (80 MiB); big ListContainers answers fit. */
export const MAX_MESSAGE_BYTES = 80 * 1024 * 1024;
/** How long in-flight calls may go on after a shutdown begins before their connections are cut. */
export const SHUTDOWN_GRACE_MS = 5000;

export interface CriServerOptions extends VersionDeps {
  maxMessageBytes?: number;
  /** The image store behind ImageService. */
  images: ImageRpcDeps;
  /** Status, RuntimeConfig, UpdateRuntimeConfig. */
  runtimeStatus: RuntimeStatusDeps;
  /** The pod and container services; without them their RPCs answer Unimplemented. */
  runtime?: ContainerRpcDeps & PodRpcDeps;
  /** The streaming server behind Exec, Attach and PortForward (cri/streaming); without it they answer Unimplemented. */
  streaming?: StreamUrls;
}

export interface CriServer {
  /** The socket's path. */
  readonly path: string;
  /**
   * Stops accepting connections, lets calls in flight finish (GOAWAY), and after `graceMs` aborts
   * their signals and cuts what is left. Containers are not touched.
   */
  close(graceMs?: number): Promise<void>;
}

function routes(opts: CriServerOptions) {
  return (router: ConnectRouter) => {
    const rt = opts.runtime;
    router.service(RuntimeService, {
      version: (req) => version(req, opts),
      status: (req, ctx) => status(req, opts.runtimeStatus, ctx.signal),
      runtimeConfig: (req) => runtimeConfig(req),
      updateRuntimeConfig: (req) => updateRuntimeConfig(req, opts.runtimeStatus.settings),
      ...(rt === undefined
        ? {}
        : {
            runPodSandbox: (req, ctx) => runPodSandbox(req, rt, ctx.signal),
            stopPodSandbox: (req, ctx) => stopPodSandbox(req, rt, ctx.signal),
            removePodSandbox: (req, ctx) => removePodSandbox(req, rt, ctx.signal),
            podSandboxStatus: (req, ctx) => podSandboxStatus(req, rt, ctx.signal),
            listPodSandbox: (req, ctx) => listPodSandbox(req, rt, ctx.signal),
            createContainer: (req, ctx) => createContainer(req, rt, ctx.signal),
            startContainer: (req, ctx) => startContainer(req, rt, ctx.signal),
            stopContainer: (req) => stopContainer(req, rt),
            removeContainer: (req) => removeContainer(req, rt),
            listContainers: (req) => listContainers(req, rt),
            containerStatus: (req) => containerStatus(req, rt),
            updateContainerResources: (req) => updateContainerResources(req, rt),
            reopenContainerLog: (req) => reopenContainerLog(req, rt),
            execSync: (req, ctx) => execSync(req, rt, ctx.signal),
            containerStats: (req) => containerStats(req, rt),
            podSandboxStats: (req, ctx) => podSandboxStats(req, rt, ctx.signal),
            listPodSandboxStats: (req, ctx) => listPodSandboxStats(req, rt, ctx.signal),
            ...(opts.streaming === undefined ? {} : streamingRpcs(opts.streaming, rt)),
            getContainerEvents: (_req, ctx) => rt.events.subscribe(ctx.signal),
            listContainerStats: (req) => listContainerStats(req, rt),
          }),
    });
    const im = opts.images;
    router.service(ImageService, {
      listImages: (req) => listImages(req, im),
      imageStatus: (req) => imageStatus(req, im),
      pullImage: (req, ctx) => pullImage(req, im, ctx.signal),
      removeImage: (req) => removeImage(req, im),
      imageFsInfo: (req, ctx) => imageFsInfo(req, im, ctx.signal),
    });
  };
}

/** A trailers-only gRPC answer (HTTP 200 with grpc-status in the headers) ending the call. */
function grpcStatus(res: Http2ServerResponse, code: Code, message: string): void {
  if (res.headersSent) {
    res.stream.close();
    return;
  }
  res.writeHead(200, {
    'content-type': 'application/grpc',
    'grpc-status': String(code),
    'grpc-message': encodeURIComponent(message),
  });
  res.end();
}

/**
 * Wraps connect's handler for a unix socket. grpc-go (crictl) sends the socket's %-encoded path as
 * `:authority` (`%2Frun%2Fberth%2Fberth.sock`); connect-node builds a URL from it and throws
 * "Invalid URL" inside the request event, which would end the process. A unix socket has no
 * authority: use `localhost`, the name Kubernetes' own gRPC clients send over unix sockets
 * (kubernetes#112597). Any other synchronous throw answers Internal instead of taking berthd down.
 */
function unixSocketHandler(handler: ReturnType<typeof connectNodeAdapter>) {
  return (req: Http2ServerRequest, res: Http2ServerResponse): void => {
    Object.defineProperty(req, 'authority', { value: 'localhost' });
    try {
      handler(req, res);
    } catch (err) {
      process.stderr.write(`berthd: request ${req.url} failed: ${(err as Error).stack ?? String(err)}\n`);
      grpcStatus(res, Code.Internal, 'internal error');
    }
  };
}

export async function startCriServer(path: string, opts: CriServerOptions): Promise<CriServer> {
  const shutdown = new AbortController();
  const maxBytes = opts.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  const handler = connectNodeAdapter({
    routes: routes(opts),
    grpc: true,
    grpcWeb: false,
    connect: false,
    readMaxBytes: maxBytes,
    writeMaxBytes: maxBytes,
    interceptors: [mapErrors],
    shutdownSignal: shutdown.signal,
    fallback: (req, res) =>
      grpcStatus(res as Http2ServerResponse, Code.Unimplemented, `unknown method ${req.url}`),
  });
  const server: Http2Server = createServer(unixSocketHandler(handler));
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  await listenUnix(server, path);

  let closing: Promise<void> | undefined;
  const close = (graceMs = SHUTDOWN_GRACE_MS): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve()); // called once every session has closed
      for (const session of sessions) session.close();
      const timer = setTimeout(() => {
        shutdown.abort(new Error('berthd is shutting down'));
        for (const session of sessions) session.destroy();
      }, graceMs);
      timer.unref();
    });
    return closing;
  };
  return { path, close };
}
