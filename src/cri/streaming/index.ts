// The CRI streaming server (issue 5 "Streaming"): Exec, Attach and PortForward answer with one-time
// URLs; clients connect there and upgrade to SPDY/3.1. berthd starts the server and hands its RPCs to
// the gRPC server:
//
//   const streaming = await startStreamServer({ address, port, containers, pods });
//   router.service(RuntimeService, { …, ...streamingRpcs(streaming, { containers, pods }) });
//   …
//   await streaming.close();

import type { AttachRequest, ExecRequest, PortForwardRequest } from '../gen/api_pb.js';
import { attach } from '../rpc/attach.ts';
import { exec } from '../rpc/exec.ts';
import { portForward } from '../rpc/port-forward.ts';
import type { StreamingDeps, StreamUrls } from './types.ts';

export { STREAM_CREATION_TIMEOUT_MS } from './remote-command.ts';
export {
  DEFAULT_STREAM_ADDRESS,
  type StreamServer,
  type StreamServerOptions,
  startStreamServer,
} from './server.ts';
export { MAX_PENDING_TOKENS, TOKEN_TTL_MS } from './token-cache.ts';
export type { StreamingDeps, StreamingRequest, StreamUrls } from './types.ts';

/** The three RuntimeService methods served through `urls`, to spread into the service's handlers. */
export function streamingRpcs(urls: StreamUrls, deps: StreamingDeps) {
  return {
    exec: (req: ExecRequest) => exec(req, deps.containers, urls),
    attach: (req: AttachRequest) => attach(req, deps.containers, urls),
    portForward: (req: PortForwardRequest, ctx: { signal: AbortSignal }) =>
      portForward(req, deps.pods, urls, ctx.signal),
  };
}
