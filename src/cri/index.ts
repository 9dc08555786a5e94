// The CRI server (issue 5): runtime.v1 over gRPC on a unix socket. berthd (src/daemon) starts it.
export { toConnectError } from './errors.ts';
export {
  type CriServer,
  type CriServerOptions,
  MAX_MESSAGE_BYTES,
  SHUTDOWN_GRACE_MS,
  startCriServer,
} from './server.ts';
export { parseListenAddress } from './unix-socket.ts';
