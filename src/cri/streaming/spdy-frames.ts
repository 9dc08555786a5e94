// SPDY/3.1 frames (draft-mbelshe-httpbis-spdy-00 section 2.2 and 2.6, with 3.1's WINDOW_UPDATE on
// stream 0): the framing the kubelet's streaming protocols run on (k8s.io/apimachinery
// util/httpstream/spdy over github.com/moby/spdystream).
//
//   control frame: |1| version (15) = 3 | type (16) |  flags (8) | length (24) |  payload
//   data frame:    |0| stream id (31)              |  flags (8) | length (24) |  data
//
// A header block is `count (32)` then, per name, `len (32) name len (32) value`, several values of one
// name joined by NUL; names are lower case. It travels compressed (spdy-zlib.ts). `FrameReader` cuts a
// byte stream into frames (decompressing header blocks in arrival order, as the zlib stream demands);
// `FrameWriter` encodes them. Both are pure apart from the compression state they carry.

import { HeaderCompressionError, type HeaderCompressor, type HeaderDecompressor } from './spdy-zlib.ts';

export const SPDY_VERSION = 3;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes (section 2.4.2). */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

/** GOAWAY status codes (section 2.6.6). */
export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

/** Header names (lower case) to their values. */
export type SpdyHeaders = Map<string, string[]>;

export type Frame =
  | { type: 'data'; streamId: number; fin: boolean; data: Buffer }
  | {
      type: 'syn_stream';
      streamId: number;
      associatedId: number;
      priority: number;
      fin: boolean;
      unidirectional: boolean;
      headers: SpdyHeaders;
    }
  | { type: 'syn_reply'; streamId: number; fin: boolean; headers: SpdyHeaders }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; entries: { flags: number; id: number; value: number }[] }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'headers'; streamId: number; fin: boolean; headers: SpdyHeaders }
  | { type: 'window_update'; streamId: number; delta: number }
  | { type: 'unknown'; frameType: number; flags: number; payload: Buffer };

/** The frame header's length field has 24 bits. */
export const MAX_FRAME_PAYLOAD = 0xffffff;
/** Control frames carry a few header names or numbers; a larger one is refused, not buffered. */
export const MAX_CONTROL_PAYLOAD = 1024 * 1024;

/** A violation of the framing: the session must end (GOAWAY PROTOCOL_ERROR). */
export class SpdyProtocolError extends Error {
  override readonly name = 'SpdyProtocolError';
}

const STREAM_ID_MASK = 0x7fffffff;

/** Encodes a header block (uncompressed). Names are lower-cased, as the spec requires. */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [u32(headers.size)];
  for (const [name, values] of headers) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(values.join('\0'), 'utf8');
    if (n.length === 0) throw new SpdyProtocolError('header block: empty header name');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Decodes a header block; a name given twice has its values merged, names are lower-cased. */
export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const headers: SpdyHeaders = new Map();
  let at = 0;
  const take = (n: number, what: string): Buffer => {
    if (at + n > block.length) throw new SpdyProtocolError(`header block: truncated ${what}`);
    const b = block.subarray(at, at + n);
    at += n;
    return b;
  };
  const count = take(4, 'count').readUInt32BE(0);
  for (let i = 0; i < count; i++) {
    const name = take(take(4, 'name length').readUInt32BE(0), 'name').toString('utf8').toLowerCase();
    const value = take(take(4, 'value length').readUInt32BE(0), 'value').toString('utf8');
    if (name.length === 0) throw new SpdyProtocolError('header block: empty header name');
    const values = headers.get(name) ?? [];
    values.push(...value.split('\0'));
    headers.set(name, values);
  }
  if (at !== block.length) throw new SpdyProtocolError('header block: bytes after the last header');
  return headers;
}

/** The first value of header `name` (any case), or undefined. */
export function headerValue(headers: SpdyHeaders, name: string): string | undefined {
  return headers.get(name.toLowerCase())?.[0];
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD)
    throw new SpdyProtocolError(`control frame ${type}: payload too large`);
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  return Buffer.concat([head, payload]);
}

/** Encodes frames; header blocks go through the session's compressor, in the order written. */
export class FrameWriter {
  readonly #compressor: HeaderCompressor;

  constructor(compressor: HeaderCompressor) {
    this.#compressor = compressor;
  }

  data(streamId: number, data: Uint8Array, fin = false): Buffer {
    if (data.length > MAX_FRAME_PAYLOAD) throw new SpdyProtocolError('data frame: payload too large');
    const head = Buffer.alloc(8);
    head.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
    head.writeUInt32BE(((fin ? FLAG_FIN : 0) << 24) | data.length, 4);
    return data.length === 0 ? head : Buffer.concat([head, data]);
  }

  synStream(
    streamId: number,
    headers: SpdyHeaders,
    opts: { associatedId?: number; priority?: number; fin?: boolean; unidirectional?: boolean } = {},
  ): Buffer {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
    fixed.writeUInt32BE((opts.associatedId ?? 0) & STREAM_ID_MASK, 4);
    fixed.writeUInt8(((opts.priority ?? 0) & 0x7) << 5, 8);
    const flags = (opts.fin ? FLAG_FIN : 0) | (opts.unidirectional ? FLAG_UNIDIRECTIONAL : 0);
    return controlFrame(FrameType.SYN_STREAM, flags, Buffer.concat([fixed, this.#block(headers)]));
  }

  synReply(streamId: number, headers: SpdyHeaders = new Map(), fin = false): Buffer {
    const block = this.#block(headers);
    return controlFrame(FrameType.SYN_REPLY, fin ? FLAG_FIN : 0, Buffer.concat([u32(streamId), block]));
  }

  headers(streamId: number, headers: SpdyHeaders, fin = false): Buffer {
    const block = this.#block(headers);
    return controlFrame(FrameType.HEADERS, fin ? FLAG_FIN : 0, Buffer.concat([u32(streamId), block]));
  }

  rstStream(streamId: number, status: number): Buffer {
    return controlFrame(FrameType.RST_STREAM, 0, Buffer.concat([u32(streamId), u32(status)]));
  }

  settings(entries: { flags?: number; id: number; value: number }[]): Buffer {
    const parts = [u32(entries.length)];
    for (const e of entries)
      parts.push(u32((((e.flags ?? 0) & 0xff) << 24) | (e.id & 0xffffff)), u32(e.value));
    return controlFrame(FrameType.SETTINGS, 0, Buffer.concat(parts));
  }

  ping(id: number): Buffer {
    return controlFrame(FrameType.PING, 0, u32(id));
  }

  goAway(lastGoodStreamId: number, status: number = GoAwayStatus.OK): Buffer {
    return controlFrame(FrameType.GOAWAY, 0, Buffer.concat([u32(lastGoodStreamId), u32(status)]));
  }

  windowUpdate(streamId: number, delta: number): Buffer {
    return controlFrame(FrameType.WINDOW_UPDATE, 0, Buffer.concat([u32(streamId), u32(delta & 0x7fffffff)]));
  }

  #block(headers: SpdyHeaders): Buffer {
    return this.#compressor.compress(encodeHeaderBlock(headers));
  }
}

/**
 * Cuts a byte stream into frames. `push` takes the bytes as they arrive and returns the frames they
 * complete; a malformed frame throws SpdyProtocolError (the session cannot go on: the header
 * compression state may be lost with it).
 */
export class FrameReader {
  readonly #decompressor: HeaderDecompressor;
  #chunks: Buffer[] = [];
  #length = 0;

  constructor(decompressor: HeaderDecompressor) {
    this.#decompressor = decompressor;
  }

  /** Bytes received but not yet part of a whole frame. */
  get buffered(): number {
    return this.#length;
  }

  push(bytes: Buffer): Frame[] {
    if (bytes.length > 0) {
      this.#chunks.push(bytes);
      this.#length += bytes.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.#length < 8) return frames;
      const head = this.#peek(8);
      const length = head.readUInt32BE(4) & 0xffffff;
      const control = (head[0]! & 0x80) !== 0;
      if (control && length > MAX_CONTROL_PAYLOAD) {
        throw new SpdyProtocolError(`control frame of ${length} bytes: over ${MAX_CONTROL_PAYLOAD}`);
      }
      if (this.#length < 8 + length) return frames;
      const frame = this.#take(8 + length);
      frames.push(this.#parse(frame));
    }
  }

  #peek(n: number): Buffer {
    if (this.#chunks[0]!.length < n) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0]!.subarray(0, n);
  }

  #take(n: number): Buffer {
    if (this.#chunks[0]!.length < n) this.#chunks = [Buffer.concat(this.#chunks)];
    const first = this.#chunks[0]!;
    const out = first.subarray(0, n);
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.#length -= n;
    return out;
  }

  #parse(frame: Buffer): Frame {
    const word = frame.readUInt32BE(0);
    const flags = frame[4]!;
    const payload = frame.subarray(8);
    if ((word & 0x80000000) === 0) {
      const streamId = word & STREAM_ID_MASK;
      if (streamId === 0) throw new SpdyProtocolError('data frame on stream 0');
      return { type: 'data', streamId, fin: (flags & FLAG_FIN) !== 0, data: payload };
    }
    const version = (word >>> 16) & 0x7fff;
    const type = word & 0xffff;
    if (version !== SPDY_VERSION) throw new SpdyProtocolError(`control frame of SPDY version ${version}`);
    const need = (n: number) => {
      if (payload.length < n)
        throw new SpdyProtocolError(`control frame ${type}: payload of ${payload.length} bytes`);
    };
    const streamAt = (offset: number) => {
      const id = payload.readUInt32BE(offset) & STREAM_ID_MASK;
      if (id === 0) throw new SpdyProtocolError(`control frame ${type} on stream 0`);
      return id;
    };
    switch (type) {
      case FrameType.SYN_STREAM: {
        need(10);
        return {
          type: 'syn_stream',
          streamId: streamAt(0),
          associatedId: payload.readUInt32BE(4) & STREAM_ID_MASK,
          priority: payload[8]! >> 5,
          fin: (flags & FLAG_FIN) !== 0,
          unidirectional: (flags & FLAG_UNIDIRECTIONAL) !== 0,
          headers: this.#headers(payload.subarray(10)),
        };
      }
      case FrameType.SYN_REPLY:
      case FrameType.HEADERS: {
        need(4);
        return {
          type: type === FrameType.SYN_REPLY ? 'syn_reply' : 'headers',
          streamId: streamAt(0),
          fin: (flags & FLAG_FIN) !== 0,
          headers: this.#headers(payload.subarray(4)),
        };
      }
      case FrameType.RST_STREAM:
        need(8);
        return { type: 'rst_stream', streamId: streamAt(0), status: payload.readUInt32BE(4) };
      case FrameType.SETTINGS: {
        need(4);
        const count = payload.readUInt32BE(0);
        need(4 + count * 8);
        const entries = [];
        for (let i = 0; i < count; i++) {
          const at = 4 + i * 8;
          const idWord = payload.readUInt32BE(at);
          entries.push({ flags: idWord >>> 24, id: idWord & 0xffffff, value: payload.readUInt32BE(at + 4) });
        }
        return { type: 'settings', entries };
      }
      case FrameType.PING:
        need(4);
        return { type: 'ping', id: payload.readUInt32BE(0) };
      case FrameType.GOAWAY:
        need(4);
        return {
          type: 'goaway',
          lastGoodStreamId: payload.readUInt32BE(0) & STREAM_ID_MASK,
          // SPDY/2 peers send no status; SPDY/3 always does.
          status: payload.length >= 8 ? payload.readUInt32BE(4) : GoAwayStatus.OK,
        };
      case FrameType.WINDOW_UPDATE:
        need(8);
        return {
          type: 'window_update',
          streamId: payload.readUInt32BE(0) & STREAM_ID_MASK,
          delta: payload.readUInt32BE(4) & 0x7fffffff,
        };
      default:
        // Section 2.2.1: a control frame of an unknown type is ignored.
        return { type: 'unknown', frameType: type, flags, payload };
    }
  }

  #headers(compressed: Buffer): SpdyHeaders {
    try {
      return decodeHeaderBlock(this.#decompressor.decompress(compressed));
    } catch (err) {
      if (err instanceof HeaderCompressionError) throw new SpdyProtocolError(err.message, { cause: err });
      throw err;
    }
  }
}
