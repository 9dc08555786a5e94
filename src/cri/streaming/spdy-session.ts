// The server side of one SPDY/3.1 session on an upgraded connection, as the kubelet's streaming
// library runs it (apimachinery httpstream/spdy NewServerConnection over moby/spdystream):
//
//   client ──SYN_STREAM(id odd, headers)──▶ onStream(stream) ──accepted──▶ SYN_REPLY  (else RST REFUSED)
//          ──DATA(id)──▶ stream's readable side            stream's writable side ──DATA(id)──▶
//          ──DATA FIN──▶ readable ends                     end() ──DATA FIN──▶
//          ──PING(odd)──▶ echoed     ──RST_STREAM──▶ stream destroyed     ──GOAWAY──▶ no new streams
//
// Flow control: spdystream neither sends WINDOW_UPDATE nor honours it, so sending is not held to the
// peer's window (it would stall after 64 KiB with crictl and the kubelet). Receiving, each DATA frame
// is acknowledged with WINDOW_UPDATE on its stream and on the session (SPDY/3.1), which spdystream
// ignores and a peer that enforces windows needs. Memory stays bounded the other way: when a stream's
// reader falls behind, the socket is paused (all streams wait, as they do in spdystream, whose
// per-stream data channel is unbuffered).

import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import {
  type Frame,
  FrameReader,
  FrameWriter,
  GoAwayStatus,
  headerValue,
  RstStatus,
  type SpdyHeaders,
  SpdyProtocolError,
} from './spdy-frames.ts';
import { HeaderCompressor, HeaderDecompressor } from './spdy-zlib.ts';

/** Outgoing data is cut into DATA frames of at most this size. */
export const MAX_DATA_FRAME_BYTES = 32 * 1024;
/** After close() sends GOAWAY and ends the socket, how long the peer gets to close its side. */
export const SESSION_LINGER_MS = 5000;

export interface SpdySessionOptions {
  /**
   * A stream the client opened. Return false to refuse it (RST_STREAM REFUSED_STREAM); otherwise the
   * SYN_REPLY is sent as soon as this returns, before any data the handler writes.
   */
  onStream(stream: SpdyStream): boolean;
  /** The connection has been idle (no frame either way) this long: end it. Default: none. */
  idleTimeoutMs?: number;
}

export class SpdyStream extends Duplex {
  readonly id: number;
  readonly headers: SpdyHeaders;
  readonly #session: SpdySession;
  /** FIN sent, or the stream was opened unidirectional (we may not send). */
  #localClosed: boolean;
  /** FIN received. */
  #remoteClosed = false;
  /** The RST_STREAM status that ended the stream, either way. */
  #resetStatus: number | undefined;

  constructor(session: SpdySession, id: number, headers: SpdyHeaders, unidirectional: boolean) {
    super({ allowHalfOpen: true });
    this.#session = session;
    this.id = id;
    this.headers = headers;
    this.#localClosed = unidirectional;
  }

  /** The first value of a header of the SYN_STREAM (names are case-insensitive). */
  header(name: string): string | undefined {
    return headerValue(this.headers, name);
  }

  /** Set when the stream ended by RST_STREAM (sent or received). */
  get resetStatus(): number | undefined {
    return this.#resetStatus;
  }

  /** Ends the stream both ways at once (RST_STREAM, CANCEL by default). */
  reset(status: number = RstStatus.CANCEL): void {
    if (this.#resetStatus !== undefined || this.destroyed) return;
    this.#resetStatus = status;
    this.#session.send((w) => w.rstStream(this.id, status));
    this.destroy();
  }

  /** @internal A DATA frame for this stream; false when the reader is saturated. */
  receive(data: Buffer, fin: boolean): boolean {
    if (this.#remoteClosed || this.destroyed) return true;
    let more = true;
    if (data.length > 0) more = this.push(data);
    if (fin) {
      this.#remoteClosed = true;
      this.push(null);
    }
    return more;
  }

  /** @internal The peer reset the stream, or the session ended under it. */
  terminate(status: number | undefined): void {
    if (this.destroyed) return;
    this.#resetStatus ??= status;
    this.#localClosed = true; // nothing more may be sent
    this.destroy();
  }

  override _read(): void {
    this.#session.readerReady(this);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#localClosed) {
      cb(new Error(`spdy stream ${this.id}: closed for writing`));
      return;
    }
    for (let at = 0; at < chunk.length; at += MAX_DATA_FRAME_BYTES) {
      const part = chunk.subarray(at, at + MAX_DATA_FRAME_BYTES);
      this.#session.send((w) => w.data(this.id, part));
    }
    this.#session.afterDrain(cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.#localClosed) {
      this.#localClosed = true;
      this.#session.send((w) => w.data(this.id, Buffer.alloc(0), true));
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Ended early (not both FINs): tell the peer, unless the session is already gone.
    if (this.#resetStatus === undefined && !(this.#localClosed && this.#remoteClosed)) {
      this.#resetStatus = RstStatus.CANCEL;
      this.#session.send((w) => w.rstStream(this.id, RstStatus.CANCEL));
    }
    this.#session.forget(this);
    cb(err);
  }
}

export class SpdySession {
  readonly #socket: Socket;
  readonly #opts: SpdySessionOptions;
  readonly #reader = new FrameReader(new HeaderDecompressor());
  readonly #writer = new FrameWriter(new HeaderCompressor());
  readonly #streams = new Map<number, SpdyStream>();
  /** Streams whose reader has not caught up: the socket stays paused while any remain. */
  readonly #saturated = new Set<SpdyStream>();
  #lastStreamId = 0;
  #goneAway = false;
  #ended = false;
  readonly #drainWaiters: ((err?: Error | null) => void)[] = [];
  readonly closed: Promise<void>;

  constructor(socket: Socket, head: Buffer, opts: SpdySessionOptions) {
    this.#socket = socket;
    this.#opts = opts;
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('close', () => this.#teardown());
    socket.on('error', () => socket.destroy()); // reported as 'close'; the handlers see their streams end
    socket.on('drain', () => {
      for (const cb of this.#drainWaiters.splice(0)) cb();
    });
    socket.on('data', (b: Buffer) => this.#receive(b));
    // The peer's EOF ends the session, as it ends spdystream's (the HTTP server's sockets allow half
    // open, so without this a client that died would leave the connection and its work behind).
    socket.on('end', () => {
      this.#ended = true;
      socket.end();
    });
    if (opts.idleTimeoutMs !== undefined) {
      socket.setTimeout(opts.idleTimeoutMs, () => socket.destroy());
    }
    if (head.length > 0) queueMicrotask(() => this.#receive(head));
  }

  /** Streams open now. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** @internal Writes a frame; the frame is built at once so header blocks are compressed in order. */
  send(build: (w: FrameWriter) => Buffer): boolean {
    if (this.#ended || this.#socket.destroyed || !this.#socket.writable) return false;
    return this.#socket.write(build(this.#writer));
  }

  /** @internal Calls `cb` once the socket has room again (at once when it has). */
  afterDrain(cb: (err?: Error | null) => void): void {
    if (this.#socket.destroyed || this.#ended) {
      cb(new Error('spdy session closed'));
      return;
    }
    if (!this.#socket.writableNeedDrain) {
      cb();
      return;
    }
    this.#drainWaiters.push(cb);
  }

  /** @internal A stream's reader wants more. */
  readerReady(stream: SpdyStream): void {
    if (this.#saturated.delete(stream) && this.#saturated.size === 0) this.#socket.resume();
  }

  /** @internal */
  forget(stream: SpdyStream): void {
    this.#streams.delete(stream.id);
    this.readerReady(stream);
  }

  /**
   * Ends the session gracefully: GOAWAY, then the socket's write side; resolves when the peer has
   * closed (spdystream clients close once their streams are done) or after SESSION_LINGER_MS.
   */
  async close(status: number = GoAwayStatus.OK): Promise<void> {
    if (!this.#ended) {
      if (!this.#goneAway) {
        this.#goneAway = true;
        this.send((w) => w.goAway(this.#lastStreamId, status));
      }
      this.#ended = true;
      this.#socket.end();
      const timer = setTimeout(() => this.#socket.destroy(), SESSION_LINGER_MS);
      timer.unref();
      void this.closed.then(() => clearTimeout(timer));
    }
    await this.closed;
  }

  /** Cuts the connection at once. */
  destroy(): void {
    this.#socket.destroy();
  }

  #receive(bytes: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.#reader.push(bytes);
    } catch (err) {
      if (!(err instanceof SpdyProtocolError)) throw err;
      this.send((w) => w.goAway(this.#lastStreamId, GoAwayStatus.PROTOCOL_ERROR));
      this.#socket.destroy();
      return;
    }
    for (const frame of frames) this.#handle(frame);
  }

  #handle(frame: Frame): void {
    switch (frame.type) {
      case 'syn_stream': {
        // Client streams have odd ids, each above the last (section 2.3.2).
        if (frame.streamId % 2 !== 1 || frame.streamId <= this.#lastStreamId) {
          this.send((w) => w.rstStream(frame.streamId, RstStatus.PROTOCOL_ERROR));
          return;
        }
        this.#lastStreamId = frame.streamId;
        if (this.#goneAway) {
          this.send((w) => w.rstStream(frame.streamId, RstStatus.REFUSED_STREAM));
          return;
        }
        const stream = new SpdyStream(this, frame.streamId, frame.headers, frame.unidirectional);
        this.#streams.set(frame.streamId, stream);
        if (frame.fin) stream.receive(Buffer.alloc(0), true);
        // Corked while the handler looks at it: data it writes at once must follow the SYN_REPLY.
        stream.cork();
        let accepted: boolean;
        try {
          accepted = this.#opts.onStream(stream);
        } catch {
          accepted = false;
        }
        if (!accepted) {
          stream.reset(RstStatus.REFUSED_STREAM);
          return;
        }
        this.send((w) => w.synReply(frame.streamId));
        stream.uncork();
        return;
      }
      case 'data': {
        const stream = this.#streams.get(frame.streamId);
        if (frame.data.length > 0) {
          // SPDY/3.1 flow control: the bytes are taken; the peer may send as many again.
          this.send((w) => w.windowUpdate(frame.streamId, frame.data.length));
          this.send((w) => w.windowUpdate(0, frame.data.length));
        }
        if (stream === undefined) return; // a stream we reset or finished: its late data is dropped
        if (!stream.receive(frame.data, frame.fin)) {
          this.#saturated.add(stream);
          this.#socket.pause();
        }
        return;
      }
      case 'rst_stream':
        this.#streams.get(frame.streamId)?.terminate(frame.status);
        return;
      case 'ping':
        // Pings the client starts have odd ids (spdystream); an even id would answer one of ours.
        if (frame.id % 2 === 1) this.send((w) => w.ping(frame.id));
        return;
      case 'goaway':
        this.#goneAway = true;
        return;
      case 'syn_reply':
      case 'headers':
      case 'settings':
      case 'window_update':
      case 'unknown':
        return;
    }
  }

  #teardown(): void {
    this.#ended = true;
    for (const cb of this.#drainWaiters.splice(0)) cb(new Error('spdy session closed'));
    for (const stream of [...this.#streams.values()]) stream.terminate(undefined);
    this.#streams.clear();
    this.#saturated.clear();
  }
}
