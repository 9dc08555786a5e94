// The CRI server (issue 5): runtime.v1 over gRPC on a unix socket. berthd (src/daemon) starts it.
export { toConnectError } from './errors.ts';
export { type FsUsage, measureUsage, USAGE_DEADLINE_MS, USAGE_MAX_AGE_MS, UsageCache } from './fs-usage.ts';
export { type CatalogImage, ImageCatalog, type ImageSource } from './image-catalog.ts';
export { PinnedImages } from './pinned-images.ts';
export type { PullCredentials } from './pull-auth.ts';
export type { ImageRpcDeps } from './rpc/image-deps.ts';
export type { RuntimeStatusDeps } from './rpc/status.ts';
export { RuntimeSettings } from './runtime-settings.ts';
export {
  type CriServer,
  type CriServerOptions,
  MAX_MESSAGE_BYTES,
  SHUTDOWN_GRACE_MS,
  startCriServer,
} from './server.ts';
export { type StreamServer, startStreamServer } from './streaming/index.ts';
export { parseListenAddress } from './unix-socket.ts';
