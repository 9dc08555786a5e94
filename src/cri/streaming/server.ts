// berthd's streaming server (the CRI's Exec, Attach and PortForward, as containerd and CRI-O serve
// them with the kubelet's streaming library):
//
//   Exec/Attach/PortForward RPC ─▶ urlFor(request) ─▶ token (one use, TOKEN_TTL_MS) ─▶ URL
//   client ─HTTP POST /exec|attach|portforward/<token>, Upgrade: SPDY/3.1, X-Stream-Protocol-Version─▶
//     token consumed ─▶ protocol negotiated ─▶ 101 Switching Protocols ─▶ SPDY session on the socket
//     ─▶ serve-exec / serve-attach (remote command streams) | serve-port-forward (data/error pairs)
//
//   client ─HTTP GET /exec|attach/<token>, Upgrade: websocket, Sec-WebSocket-Protocol─▶
//     token consumed ─▶ subprotocol negotiated ─▶ ws-session (channels over WebSocket) ─▶ the same runners
//
// Plain HTTP on 127.0.0.1 and an ephemeral port by default (`cri.stream_address`, `cri.stream_port`),
// as the kubelet reaches it from the same node. Exec and attach are served over SPDY/3.1 (crictl and
// critest 1.29) and over WebSocket (v5/v4 channel.k8s.io and their base64 forms, as newer clients
// use), on the same URL as the kubelet's streaming library does; port-forward over SPDY only (a
// WebSocket port-forward upgrade is answered 400).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { FailedPreconditionError, NotFoundError } from '../../errdefs/index.ts';
import { serveCommand } from './command-session.ts';
import { negotiateProtocol, REMOTE_COMMAND_PROTOCOLS, type StreamOptions } from './remote-command.ts';
import { attachRunner } from './serve-attach.ts';
import { execRunner } from './serve-exec.ts';
import { ttyExecRunner } from './serve-exec-tty.ts';
import { PORT_FORWARD_PROTOCOL, podNetns, servePortForward } from './serve-port-forward.ts';
import { TokenCache, type TokenCacheOptions } from './token-cache.ts';
import type { StreamingDeps, StreamingRequest, StreamUrls } from './types.ts';
import { negotiateWebSocketProtocol, serveWebSocketCommand, WEBSOCKET_PROTOCOLS } from './ws-session.ts';

export const DEFAULT_STREAM_ADDRESS = '127.0.0.1';

export interface StreamServerOptions extends StreamingDeps {
  /** IP address to listen on; default 127.0.0.1. */
  address?: string;
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  tokens?: TokenCacheOptions;
  /** Where problems of streaming sessions are reported (they have no RPC to fail). */
  log?: (line: string) => void;
}

export interface StreamServer extends StreamUrls {
  /** `http://127.0.0.1:PORT`: the start of every URL handed out. */
  readonly baseUrl: string;
  /** Stops listening and cuts every streaming connection (exec'd processes are killed). */
  close(): Promise<void>;
}

const PATH = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]{1,128})$/;
const UPGRADE = 'SPDY/3.1';

export async function startStreamServer(opts: StreamServerOptions): Promise<StreamServer> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`berthd: streaming: ${line}\n`));
  const tokens = new TokenCache<StreamingRequest>(opts.tokens);
  const sockets = new Set<Duplex>();
  const server = createServer((req, res) => refuse(req, res, tokens));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    upgrade(req, socket as Socket, head, tokens, opts, log).catch((err: unknown) => {
      log(`${req.url}: ${(err as Error).stack ?? String(err)}`);
      socket.destroy();
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  const address = opts.address ?? DEFAULT_STREAM_ADDRESS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  const baseUrl = `http://${host}:${bound.port}`;
  return {
    baseUrl,
    urlFor(req) {
      return `${baseUrl}/${req.kind}/${tokens.insert(req)}`;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
    },
  };
}

/** A request that is not an upgrade: there is nothing to serve without one. */
function refuse(req: IncomingMessage, res: ServerResponse, tokens: TokenCache<StreamingRequest>): void {
  const m = PATH.exec(pathOf(req));
  if (m === null || tokens.consume(m[2]!) === undefined) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
    return;
  }
  res
    .writeHead(400, { 'content-type': 'text/plain; charset=utf-8' })
    .end(`unable to upgrade: missing upgrade headers in request: a ${UPGRADE} upgrade is required\n`);
}

/** The request's path; '' when its target is not a URL path (no route matches it). */
function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://stream').pathname;
  } catch (err) {
    if (err instanceof TypeError) return ''; // ERR_INVALID_URL
    throw err;
  }
}

/** Writes a complete HTTP/1.1 error response on a socket not yet upgraded, and closes it. */
function httpError(socket: Duplex, status: number, text: string, body: string, headers: string[] = []): void {
  const payload = Buffer.from(`${body}\n`);
  socket.write(
    [
      `HTTP/1.1 ${status} ${text}`,
      'Content-Type: text/plain; charset=utf-8',
      'X-Content-Type-Options: nosniff',
      `Content-Length: ${payload.length}`,
      'Connection: close',
      ...headers,
      '',
      '',
    ].join('\r\n'),
  );
  socket.end(payload);
}

async function upgrade(
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  tokens: TokenCache<StreamingRequest>,
  deps: StreamingDeps,
  log: (line: string) => void,
): Promise<void> {
  socket.on('error', () => socket.destroy()); // until a session owns it: a reset must not crash berthd
  const m = PATH.exec(pathOf(req));
  const cached = m === null ? undefined : tokens.consume(m[2]!);
  if (m === null || cached === undefined || cached.kind !== m[1]) {
    httpError(socket, 404, 'Not Found', '404 page not found');
    return;
  }
  const upgradeHeader = String(req.headers.upgrade ?? '').toLowerCase();
  if (upgradeHeader.includes('websocket')) {
    await upgradeWebSocket(req, socket, head, cached, deps, log);
    return;
  }
  if (!upgradeHeader.includes(UPGRADE.toLowerCase())) {
    httpError(
      socket,
      400,
      'Bad Request',
      `unable to upgrade: missing upgrade headers in request: expected ${UPGRADE} or websocket`,
    );
    return;
  }
  const serverProtocols = cached.kind === 'portforward' ? [PORT_FORWARD_PROTOCOL] : REMOTE_COMMAND_PROTOCOLS;
  const offered = req.headers['x-stream-protocol-version'];
  const protocol = negotiateProtocol(offered, serverProtocols);
  if (protocol === undefined) {
    const client = [offered ?? []].flat().join(', ');
    httpError(
      socket,
      offered === undefined ? 400 : 403,
      offered === undefined ? 'Bad Request' : 'Forbidden',
      offered === undefined
        ? 'unable to upgrade: X-Stream-Protocol-Version is required'
        : `unable to upgrade: unable to negotiate protocol: client supports [${client}], server accepts [${serverProtocols.join(', ')}]`,
      serverProtocols.map((p) => `X-Accepted-Stream-Protocol-Versions: ${p}`),
    );
    return;
  }
  // The pod must be found before the upgrade, where an HTTP error can still say so.
  const pod =
    cached.kind === 'portforward'
      ? await deps.pods.get(cached.podSandboxId).catch((err: unknown) => {
          if (err instanceof NotFoundError) return undefined;
          throw err;
        })
      : undefined;
  if (cached.kind === 'portforward') {
    if (pod === undefined) {
      httpError(socket, 404, 'Not Found', `pod sandbox ${cached.podSandboxId}: not found`);
      return;
    }
    try {
      podNetns(pod);
    } catch (err) {
      if (!(err instanceof FailedPreconditionError)) throw err;
      httpError(socket, 400, 'Bad Request', err.message);
      return;
    }
  }
  socket.write(
    [
      'HTTP/1.1 101 Switching Protocols',
      'Connection: Upgrade',
      `Upgrade: ${UPGRADE}`,
      `X-Stream-Protocol-Version: ${protocol}`,
      '',
      '',
    ].join('\r\n'),
  );
  switch (cached.kind) {
    case 'portforward':
      await servePortForward({ socket, head, pod: pod!, log });
      return;
    case 'exec': {
      const streams: StreamOptions = cached;
      await serveCommand({
        socket,
        head,
        protocol,
        streams,
        run: cached.tty ? ttyExecRunner(deps.containers, cached, log) : execRunner(deps.containers, cached),
        log,
        what: `exec in ${cached.containerId}`,
      });
      return;
    }
    case 'attach':
      await serveCommand({
        socket,
        head,
        protocol,
        streams: cached,
        run: attachRunner(deps.containers, cached, log),
        log,
        what: `attach to ${cached.containerId}`,
      });
      return;
  }
}

/** A WebSocket upgrade (exec and attach; ws-session.ts), its token already consumed. */
async function upgradeWebSocket(
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  cached: StreamingRequest,
  deps: StreamingDeps,
  log: (line: string) => void,
): Promise<void> {
  if (cached.kind === 'portforward') {
    httpError(
      socket,
      400,
      'Bad Request',
      `unable to upgrade: port-forward over WebSocket is not supported, use ${UPGRADE}`,
    );
    return;
  }
  const offered = req.headers['sec-websocket-protocol'];
  const protocol = negotiateWebSocketProtocol(offered);
  if (protocol === undefined) {
    httpError(
      socket,
      400,
      'Bad Request',
      `unable to upgrade: unable to negotiate protocol: client supports [${[offered ?? []].flat().join(', ')}], server accepts [${WEBSOCKET_PROTOCOLS.join(', ')}]`,
    );
    return;
  }
  const common = { req, socket, head, protocol, streams: cached, log };
  if (cached.kind === 'exec') {
    await serveWebSocketCommand({
      ...common,
      run: cached.tty ? ttyExecRunner(deps.containers, cached, log) : execRunner(deps.containers, cached),
      what: `exec in ${cached.containerId}`,
    });
    return;
  }
  await serveWebSocketCommand({
    ...common,
    run: attachRunner(deps.containers, cached, log),
    what: `attach to ${cached.containerId}`,
  });
}
