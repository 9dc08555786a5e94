// Exec and attach over WebSocket (the kubelet's remotecommand websocket.go over apimachinery's
// wsstream; client: client-go's WebSocket executor, which kubectl 1.30+ uses through the API server):
//
//   client ─HTTP GET /exec|attach/<token>, Upgrade: websocket, Sec-WebSocket-Protocol─▶
//     protocol negotiated ─▶ 101 (the `ws` package speaks RFC 6455) ─▶ one duplex per channel
//     ─▶ serve-exec / serve-attach (the same runners as over SPDY) ─▶ stdout/stderr flushed
//     ─▶ the outcome on the error channel ─▶ close frame
//
// Every message starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; the rest is
// data. The base64 protocols send text messages: the channel as an ASCII digit, the data in base64.
// v5 adds the close signal: 255 and a channel number ends that channel's input (stdin's end). The
// channels exist as the request asked for them (the error channel always, resize with a terminal);
// data on any other is dropped, as wsstream does. v4 and v5 write the JSON status on the error
// channel, older versions the message text of a failure.

import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { finished } from 'node:stream/promises';
import { type WebSocket, WebSocketServer } from 'ws';
import { CanceledError } from '../../errdefs/index.ts';
import type { CommandRunner } from './command-session.ts';
import {
  type CommandOutcome,
  type CommandStreams,
  negotiateProtocol,
  STREAM_PROTOCOL_V1,
  STREAM_PROTOCOL_V4,
  STREAM_PROTOCOL_V5,
  type StreamOptions,
  statusMessage,
} from './remote-command.ts';
import { SESSION_LINGER_MS } from './spdy-session.ts';

/** The WebSocket subprotocols spoken for exec and attach, best first. */
export const WEBSOCKET_PROTOCOLS: readonly string[] = [
  'v5.channel.k8s.io',
  'v5.base64.channel.k8s.io',
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'channel.k8s.io',
  'base64.channel.k8s.io',
];

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
/** v5's close signal: the second byte names the channel whose input ends. */
const STREAM_CLOSE = 255;

/**
 * The subprotocol for a `Sec-WebSocket-Protocol` header: the first of the client's the server speaks;
 * '' (binary, pre-v4) when the client named none, as wsstream allows; undefined when none matches.
 */
export function negotiateWebSocketProtocol(header: string | string[] | undefined): string | undefined {
  if (header === undefined || [header].flat().every((v) => v.trim() === '')) return '';
  return negotiateProtocol(header, WEBSOCKET_PROTOCOLS);
}

/** The remote command version a subprotocol carries (what the error channel's status follows). */
function commandVersion(protocol: string): string {
  if (protocol.startsWith('v5.')) return STREAM_PROTOCOL_V5;
  if (protocol.startsWith('v4.')) return STREAM_PROTOCOL_V4;
  return STREAM_PROTOCOL_V1;
}

/** One channel of the connection, as a duplex: what the client sends is read, what is written is sent. */
class WsChannel extends Duplex {
  readonly #conn: WsChannels;
  readonly channel: number;

  constructor(conn: WsChannels, channel: number) {
    super({ allowHalfOpen: true });
    this.#conn = conn;
    this.channel = channel;
  }

  override _read(): void {
    this.#conn.readerReady();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#conn.send(this.channel, chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    cb(); // the connection's close ends every channel; wsstream sends no per-channel end
  }
}

/** A WebSocket's messages, demultiplexed into channel duplexes. */
class WsChannels {
  readonly streams: CommandStreams;
  /** Resolves when the WebSocket has closed (either side, or the connection broke). */
  readonly closed: Promise<void>;
  readonly #ws: WebSocket;
  readonly #base64: boolean;
  readonly #closeSignal: boolean;
  readonly #readable = new Map<number, WsChannel>();
  readonly #all: WsChannel[] = [];

  constructor(ws: WebSocket, protocol: string, opts: StreamOptions) {
    this.#ws = ws;
    this.#base64 = protocol.includes('base64');
    this.#closeSignal = protocol.startsWith('v5.');
    const open = (channel: number, readable: boolean): WsChannel => {
      const c = new WsChannel(this, channel);
      c.on('error', () => undefined); // a write after the close: the runners see `destroyed`
      if (readable) this.#readable.set(channel, c);
      this.#all.push(c);
      return c;
    };
    const streams: CommandStreams = { error: open(ERROR, false) };
    if (opts.stdin) streams.stdin = open(STDIN, true);
    if (opts.stdout) streams.stdout = open(STDOUT, false);
    if (opts.stderr && !opts.tty) streams.stderr = open(STDERR, false);
    if (opts.tty) streams.resize = open(RESIZE, true);
    for (const c of this.#all) if (!this.#readable.has(c.channel)) c.push(null); // nothing to read
    this.streams = streams;
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#receive(data, isBinary));
    ws.on('error', () => undefined); // 'close' follows
    this.closed = new Promise((resolve) => {
      ws.once('close', () => {
        for (const c of this.#all) c.destroy();
        resolve();
      });
    });
  }

  #receive(data: Buffer, isBinary: boolean): void {
    if (data.length === 0) return;
    if (this.#closeSignal && data[0] === STREAM_CLOSE) {
      if (data.length !== 2) return;
      const c = this.#readable.get(data[1]!);
      if (c !== undefined && !c.readableEnded && !c.destroyed) c.push(null);
      return;
    }
    let channel: number;
    let payload: Buffer;
    if (this.#base64) {
      if (isBinary) return;
      channel = data[0]! - 0x30;
      payload = Buffer.from(data.subarray(1).toString('latin1'), 'base64');
    } else {
      channel = data[0]!;
      payload = data.subarray(1);
    }
    const c = this.#readable.get(channel);
    if (c === undefined || c.destroyed || c.readableEnded || payload.length === 0) return;
    if (!c.push(payload)) this.#ws.pause(); // resumed when the reader asks for more
  }

  /** @internal A channel's reader wants more. */
  readerReady(): void {
    if (this.#ws.isPaused) this.#ws.resume();
  }

  /** @internal Sends `data` on `channel`; `cb` once handed to the socket. */
  send(channel: number, data: Buffer, cb: (err?: Error | null) => void): void {
    if (this.#ws.readyState !== this.#ws.OPEN) {
      cb(new Error(`websocket channel ${channel}: the connection is closed`));
      return;
    }
    if (this.#base64) {
      this.#ws.send(
        `${String.fromCharCode(0x30 + channel)}${data.toString('base64')}`,
        { binary: false },
        cb,
      );
    } else {
      this.#ws.send(Buffer.concat([Buffer.from([channel]), data]), { binary: true }, cb);
    }
  }

  /** Sends a close frame and waits for the client's (or cuts the connection after SESSION_LINGER_MS). */
  async close(): Promise<void> {
    this.#ws.close(1000);
    const timer = setTimeout(() => this.#ws.terminate(), SESSION_LINGER_MS);
    await this.closed;
    clearTimeout(timer);
  }

  destroy(): void {
    this.#ws.terminate();
  }
}

export interface WebSocketCommandOptions {
  req: IncomingMessage;
  socket: Socket;
  head: Buffer;
  /** From negotiateWebSocketProtocol. */
  protocol: string;
  streams: StreamOptions;
  run: CommandRunner;
  log: (line: string) => void;
  /** What the log lines name (`exec in <id>`). */
  what: string;
}

/** Completes the WebSocket handshake and serves one exec or attach on it, until it ends. */
export async function serveWebSocketCommand(opts: WebSocketCommandOptions): Promise<void> {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: () => (opts.protocol === '' ? false : opts.protocol),
  });
  const ws = await new Promise<WebSocket | undefined>((resolve) => {
    // ws answers an invalid handshake itself (400, 405 for a method other than GET) and closes.
    opts.socket.once('close', () => resolve(undefined));
    wss.handleUpgrade(opts.req, opts.socket, opts.head, (w) => resolve(w));
  });
  if (ws === undefined) return;
  const conn = new WsChannels(ws, opts.protocol, opts.streams);
  const gone = new AbortController();
  void conn.closed.then(() => gone.abort(new CanceledError(`${opts.what}: the client went away`)));
  let outcome: CommandOutcome;
  try {
    outcome = await opts.run(conn.streams, gone.signal);
  } catch (err) {
    outcome = { kind: 'error', message: (err as Error).message };
  }
  if (gone.signal.aborted) return;
  if (outcome.kind === 'error') opts.log(`${opts.what}: ${outcome.message}`);
  // The output goes first: written data still queued in a channel must not follow the status.
  await Promise.all(
    [conn.streams.stdout, conn.streams.stderr].map(async (s) => {
      if (s === undefined || s.destroyed) return;
      if (!s.writableEnded) s.end();
      await finished(s, { readable: false }).catch(() => undefined);
    }),
  );
  const status = statusMessage(commandVersion(opts.protocol), outcome);
  const error = conn.streams.error;
  if (status !== undefined && !error.destroyed) {
    await new Promise<void>((resolve) => error.write(status, () => resolve()));
  }
  if (gone.signal.aborted) return;
  await conn.close();
}
