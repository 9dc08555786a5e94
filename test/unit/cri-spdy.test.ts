// SPDY/3.1 framing for the CRI streaming server (src/cri/streaming/spdy-*.ts): the dictionary, header
// compression across frames (checked against frames Go's spdystream wrote, and against zlib's own
// streaming inflater), every frame type byte for byte, frames arriving in pieces, malformed input, and
// a server session over a loopback TCP connection (SYN_REPLY, data both ways, PING, refusal, RST,
// GOAWAY). Plus the remote command protocol helpers (negotiation, expected streams, status JSON,
// resize events).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { constants, createInflate } from 'node:zlib';
import {
  expectedStreams,
  negotiateProtocol,
  REMOTE_COMMAND_PROTOCOLS,
  StreamCollector,
  statusMessage,
  terminalSizes,
} from '../../src/cri/streaming/remote-command.ts';
import {
  decodeHeaderBlock,
  encodeHeaderBlock,
  type Frame,
  FrameReader,
  FrameWriter,
  GoAwayStatus,
  RstStatus,
  SpdyProtocolError,
} from '../../src/cri/streaming/spdy-frames.ts';
import { SpdySession, type SpdyStream } from '../../src/cri/streaming/spdy-session.ts';
import {
  adler32,
  HeaderCompressor,
  HeaderDecompressor,
  SPDY3_DICTIONARY,
} from '../../src/cri/streaming/spdy-zlib.ts';

/** Frames written by Go's spdystream framer (cri-tools v1.29.0 vendor/github.com/moby/spdystream/spdy), in order. */
const GO_FRAMES = {
  syn1: '80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff',
  syn3: '800300010000001700000003000000000000c22e555c92929907000000ffff',
  syn5:
    '800300010100003d0000000500000000000002650a060606ce2248ac6682523ba301285d57e8e696e69464824b578624' +
    '0ceda0422a1152de1781b39685818501000000ffff',
  reply2: '800300020000000e000000026260606000000000ffff',
  data3: '000000030000000368690a',
  fin3: '0000000301000000',
  ping1: '800300060000000400000001',
  rst5: '80030003000000080000000500000005',
  goaway: '80030007000000080000000500000000',
  window3: '800300090000000800000003000003e8',
  syn7big:
    '800300010000008f00000007000000000000eccd371180501400b0bf20873b7ad9b0c2a31d0e108358165cfc8c99f267' +
    'c553c67da5f42e55ddb45d3f8cd3bcc6b61f273333333333333333333333333333333333333333333333333333333333' +
    '333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333373' +
    'cefe000000ffff',
  syn9:
    '8003000100000044000000090000000000006260606062606060afd04d4c2b492d626060504457a25b5c52949a985b52' +
    '5990aa9b5a54940f52c48510636060602b2e49c92f2d01000000ffff',
};

const hex = (s: string) => Buffer.from(s, 'hex');
const headers = (entries: Record<string, string | string[]>) =>
  new Map(Object.entries(entries).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
const reader = () => new FrameReader(new HeaderDecompressor());
const writer = () => new FrameWriter(new HeaderCompressor());

test('the SPDY/3 dictionary is the 1423 bytes spdystream uses', () => {
  assert.equal(SPDY3_DICTIONARY.length, 1423);
  assert.equal(
    createHash('sha256').update(SPDY3_DICTIONARY).digest('hex'),
    '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02',
  );
  // The dictionary id Go's compressor writes after `78 f9` in the first header block.
  assert.equal(adler32(SPDY3_DICTIONARY), 0xe3c6a7c2);
  assert.equal(adler32(Buffer.from('Wikipedia')), 0x11e60398); // RFC 1950's example, via Wikipedia
});

test("Go's frames decode in order, sharing one compression context (and its 32 KiB window)", () => {
  const r = reader();
  const frames = Object.values(GO_FRAMES).flatMap((f) => r.push(hex(f)));
  assert.equal(r.buffered, 0);
  assert.deepEqual(
    frames.map((f) => f.type),
    [
      'syn_stream',
      'syn_stream',
      'syn_stream',
      'syn_reply',
      'data',
      'data',
      'ping',
      'rst_stream',
      'goaway',
      'window_update',
      'syn_stream',
      'syn_stream',
    ],
  );
  const [syn1, syn3, syn5, reply2, data3, fin3, ping, rst, goaway, window, big, syn9] = frames as Frame[];
  assert.deepEqual(syn1, {
    type: 'syn_stream',
    streamId: 1,
    associatedId: 0,
    priority: 0,
    fin: false,
    unidirectional: false,
    headers: headers({ streamtype: 'error' }),
  });
  assert.deepEqual(syn3?.type === 'syn_stream' && syn3.headers, headers({ streamtype: 'stdin' }));
  assert.ok(syn5?.type === 'syn_stream' && syn5.fin);
  assert.deepEqual(
    syn5?.type === 'syn_stream' && new Map([...syn5.headers].sort()),
    headers({ port: '8080', requestid: '0', streamtype: 'data', 'x-multi': ['a', 'b'] }),
  );
  assert.deepEqual(reply2, { type: 'syn_reply', streamId: 2, fin: false, headers: new Map() });
  assert.deepEqual(data3, { type: 'data', streamId: 3, fin: false, data: Buffer.from('hi\n') });
  assert.deepEqual(fin3, { type: 'data', streamId: 3, fin: true, data: Buffer.alloc(0) });
  assert.deepEqual(ping, { type: 'ping', id: 1 });
  assert.deepEqual(rst, { type: 'rst_stream', streamId: 5, status: RstStatus.CANCEL });
  assert.deepEqual(goaway, { type: 'goaway', lastGoodStreamId: 5, status: GoAwayStatus.OK });
  assert.deepEqual(window, { type: 'window_update', streamId: 3, delta: 1000 });
  assert.equal(big?.type === 'syn_stream' && big.headers.get('x-big')?.[0], '0123456789abcdef'.repeat(2500));
  // After 40 KB of history the window has slid past the dictionary: this block refers to the new data.
  assert.deepEqual(
    syn9?.type === 'syn_stream' && new Map([...syn9.headers].sort()),
    headers({ streamtype: 'stdout', 'x-after': '0123456789abcdef-streamtype-error' }),
  );
});

test('frames without header blocks are written byte for byte as Go writes them', () => {
  const w = writer();
  assert.equal(w.data(3, Buffer.from('hi\n')).toString('hex'), GO_FRAMES.data3);
  assert.equal(w.data(3, Buffer.alloc(0), true).toString('hex'), GO_FRAMES.fin3);
  assert.equal(w.ping(1).toString('hex'), GO_FRAMES.ping1);
  assert.equal(w.rstStream(5, RstStatus.CANCEL).toString('hex'), GO_FRAMES.rst5);
  assert.equal(w.goAway(5).toString('hex'), GO_FRAMES.goaway);
  assert.equal(w.windowUpdate(3, 1000).toString('hex'), GO_FRAMES.window3);
});

test('written header blocks round-trip, also past the 32 KiB window, and arrive in any pieces', () => {
  const w = writer();
  const sent = [
    w.synReply(1),
    w.synReply(3, headers({ 'x-stream-protocol-version': 'v4.channel.k8s.io' })),
    w.synStream(2, headers({ streamtype: 'error', port: '8080', multi: ['a', 'b'] }), {
      fin: true,
      priority: 3,
    }),
    w.headers(3, headers({ big: 'y'.repeat(40_000) })),
    w.synReply(5, headers({ after: 'window-slide', big: 'y'.repeat(100) }), true),
    w.settings([{ id: 7, value: 65536 }]),
  ];
  const all = Buffer.concat(sent);
  for (const piece of [all.length, 1, 7, 1000]) {
    const r = reader();
    const frames: Frame[] = [];
    for (let at = 0; at < all.length; at += piece) frames.push(...r.push(all.subarray(at, at + piece)));
    assert.equal(frames.length, sent.length, `pieces of ${piece}`);
    assert.deepEqual(frames[0], { type: 'syn_reply', streamId: 1, fin: false, headers: new Map() });
    assert.deepEqual(frames[2], {
      type: 'syn_stream',
      streamId: 2,
      associatedId: 0,
      priority: 3,
      fin: true,
      unidirectional: false,
      headers: headers({ streamtype: 'error', port: '8080', multi: ['a', 'b'] }),
    });
    assert.equal(frames[3]?.type === 'headers' && frames[3].headers.get('big')?.[0]?.length, 40_000);
    assert.deepEqual(frames[4], {
      type: 'syn_reply',
      streamId: 5,
      fin: true,
      headers: headers({ after: 'window-slide', big: 'y'.repeat(100) }),
    });
    assert.deepEqual(frames[5], { type: 'settings', entries: [{ flags: 0, id: 7, value: 65536 }] });
  }
});

test("written header blocks are one zlib stream (with the dictionary) as zlib's own inflater reads it", async () => {
  const c = new HeaderCompressor();
  const blocks = [
    headers({ a: '1' }),
    headers({ big: 'z'.repeat(50_000) }),
    headers({ streamtype: 'stdout' }),
  ].map(encodeHeaderBlock);
  const inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
  const out: Buffer[] = [];
  inflate.on('data', (b: Buffer) => out.push(b));
  for (const block of blocks) {
    inflate.write(c.compress(block));
    await new Promise<void>((resolve) => inflate.flush(constants.Z_SYNC_FLUSH, () => resolve()));
  }
  assert.deepEqual(Buffer.concat(out), Buffer.concat(blocks));
  inflate.destroy();
});

test('header blocks: names lower-cased, values split at NUL, malformed blocks refused', () => {
  assert.deepEqual(
    decodeHeaderBlock(encodeHeaderBlock(headers({ StreamType: 'x', v: ['1', '2'] }))),
    headers({ streamtype: 'x', v: ['1', '2'] }),
  );
  const block = encodeHeaderBlock(headers({ a: 'b' }));
  assert.throws(() => decodeHeaderBlock(block.subarray(0, block.length - 1)), SpdyProtocolError);
  assert.throws(() => decodeHeaderBlock(Buffer.concat([block, Buffer.from([0])])), SpdyProtocolError);
});

test('malformed frames end the session: version, size, header compression, stream 0', () => {
  const bad = (b: Buffer, re: RegExp) =>
    assert.throws(
      () => reader().push(b),
      (e: unknown) => e instanceof SpdyProtocolError && re.test(e.message),
    );
  const v2 = hex(GO_FRAMES.ping1);
  v2.writeUInt16BE(0x8002, 0);
  bad(v2, /version 2/);
  bad(hex('8003000100ffffff'), /over/);
  bad(hex(GO_FRAMES.syn3), /not a zlib stream/); // no zlib header: a block from the middle of a stream
  const otherDict = hex(GO_FRAMES.syn1);
  otherDict.writeUInt32BE(0x01020304, 20);
  bad(otherDict, /another dictionary/);
  bad(hex('0000000000000000'), /stream 0/);
  bad(hex('80030006000000020000'), /payload of 2 bytes/);
  // An unknown control frame type is ignored, as the spec says.
  assert.deepEqual(reader().push(hex('8003000a00000000')), [
    { type: 'unknown', frameType: 10, flags: 0, payload: Buffer.alloc(0) },
  ]);
});

/** A loopback TCP connection: a session on the server end, a raw frame client on the other. */
async function sessionPair(onStream: (s: SpdyStream) => boolean) {
  const server = createServer({ allowHalfOpen: true }); // as node:http's server sockets are
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [accepted] = (await once(server, 'connection')) as [Socket];
  server.close();
  const session = new SpdySession(accepted, Buffer.alloc(0), { onStream });
  const w = writer();
  const r = reader();
  const frames: Frame[] = [];
  let wake: (() => void) | undefined;
  client.on('data', (b: Buffer) => {
    frames.push(...r.push(b));
    wake?.();
  });
  const next = async (): Promise<Frame> => {
    while (frames.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return frames.shift()!;
  };
  /** The next frame that is not a WINDOW_UPDATE (the session acknowledges every DATA frame). */
  const nextOf = async (): Promise<Frame> => {
    for (;;) {
      const f = await next();
      if (f.type !== 'window_update') return f;
    }
  };
  await once(client, 'connect');
  return { session, client, w, next, nextOf };
}

test('a server session: reply, data both ways with FIN, ping echo, refusal, reset, GOAWAY', async () => {
  const opened: SpdyStream[] = [];
  const { session, client, w, next, nextOf } = await sessionPair((s) => {
    if (s.header('streamType') === 'refuse-me') return false;
    opened.push(s);
    s.write(`hello ${s.id}`); // written at once: must still follow the SYN_REPLY
    return true;
  });
  client.write(w.synStream(1, headers({ streamType: 'stdin' })));
  assert.deepEqual(await next(), { type: 'syn_reply', streamId: 1, fin: false, headers: new Map() });
  assert.deepEqual(await next(), { type: 'data', streamId: 1, fin: false, data: Buffer.from('hello 1') });
  assert.equal(opened[0]?.header('STREAMTYPE'), 'stdin');

  client.write(Buffer.concat([w.data(1, Buffer.from('abc')), w.data(1, Buffer.alloc(0), true)]));
  assert.deepEqual(await next(), { type: 'window_update', streamId: 1, delta: 3 });
  assert.deepEqual(await next(), { type: 'window_update', streamId: 0, delta: 3 });
  const got: Buffer[] = [];
  for await (const b of opened[0]!) got.push(b as Buffer);
  assert.equal(Buffer.concat(got).toString(), 'abc');
  opened[0]!.end('bye');
  assert.deepEqual(await nextOf(), { type: 'data', streamId: 1, fin: false, data: Buffer.from('bye') });
  assert.deepEqual(await nextOf(), { type: 'data', streamId: 1, fin: true, data: Buffer.alloc(0) });

  client.write(w.ping(7));
  assert.deepEqual(await nextOf(), { type: 'ping', id: 7 });

  client.write(w.synStream(3, headers({ streamType: 'refuse-me' })));
  assert.deepEqual(await nextOf(), { type: 'rst_stream', streamId: 3, status: RstStatus.REFUSED_STREAM });
  client.write(w.synStream(3, headers({ streamType: 'again' }))); // ids must grow
  assert.deepEqual(await nextOf(), { type: 'rst_stream', streamId: 3, status: RstStatus.PROTOCOL_ERROR });

  client.write(w.synStream(5, headers({ streamType: 'x' })));
  assert.equal((await nextOf()).type, 'syn_reply');
  assert.equal((await nextOf()).type, 'data'); // hello 5
  const five = opened[1]!;
  const closed = once(five, 'close');
  client.write(w.rstStream(5, RstStatus.CANCEL));
  await closed;
  assert.equal(five.resetStatus, RstStatus.CANCEL);
  assert.equal(session.streamCount, 0);

  const done = session.close();
  assert.deepEqual(await nextOf(), { type: 'goaway', lastGoodStreamId: 5, status: GoAwayStatus.OK });
  await once(client, 'end');
  client.end();
  await done;
});

test("a peer's EOF ends the session and its streams (a client that died)", async () => {
  const opened: SpdyStream[] = [];
  const { session, client, w, nextOf } = await sessionPair((s) => {
    opened.push(s);
    return true;
  });
  client.write(w.synStream(1, headers({ streamType: 'stdout' })));
  assert.equal((await nextOf()).type, 'syn_reply');
  const closed = once(opened[0]!, 'close');
  client.end();
  await session.closed;
  await closed;
  assert.equal(session.streamCount, 0);
});

test('a server session answers a framing error with GOAWAY PROTOCOL_ERROR and closes', async () => {
  const { session, client, nextOf } = await sessionPair(() => true);
  client.write(hex('8002000100000000'));
  assert.deepEqual(await nextOf(), {
    type: 'goaway',
    lastGoodStreamId: 0,
    status: GoAwayStatus.PROTOCOL_ERROR,
  });
  await session.closed;
  client.destroy();
});

test('remote command: protocol negotiation, the streams expected, the status written', () => {
  const offered = [
    'v5.channel.k8s.io',
    'v4.channel.k8s.io',
    'v3.channel.k8s.io',
    'v2.channel.k8s.io',
    'channel.k8s.io',
  ];
  assert.equal(negotiateProtocol(offered, REMOTE_COMMAND_PROTOCOLS), 'v5.channel.k8s.io');
  assert.equal(
    negotiateProtocol('v9.channel.k8s.io, v4.channel.k8s.io', REMOTE_COMMAND_PROTOCOLS),
    'v4.channel.k8s.io',
  );
  assert.equal(negotiateProtocol(['v9.channel.k8s.io'], REMOTE_COMMAND_PROTOCOLS), undefined);
  assert.equal(negotiateProtocol(undefined, REMOTE_COMMAND_PROTOCOLS), undefined);

  const all = { stdin: true, stdout: true, stderr: true, tty: false };
  assert.deepEqual(expectedStreams('v4.channel.k8s.io', all), ['error', 'stdin', 'stdout', 'stderr']);
  assert.deepEqual(expectedStreams('v4.channel.k8s.io', { ...all, tty: true }), [
    'error',
    'stdin',
    'stdout',
    'resize',
  ]);
  assert.deepEqual(expectedStreams('v2.channel.k8s.io', { ...all, tty: true }), ['error', 'stdin', 'stdout']);

  assert.deepEqual(JSON.parse(String(statusMessage('v4.channel.k8s.io', { kind: 'success' }))), {
    metadata: {},
    status: 'Success',
  });
  const exit = JSON.parse(
    String(statusMessage('v5.channel.k8s.io', { kind: 'exit', code: 3, command: ['sh'] })),
  );
  assert.equal(exit.status, 'Failure');
  assert.equal(exit.reason, 'NonZeroExitCode');
  assert.deepEqual(exit.details, { causes: [{ reason: 'ExitCode', message: '3' }] });
  assert.equal(
    JSON.parse(String(statusMessage('v4.channel.k8s.io', { kind: 'error', message: 'boom' }))).message,
    'Internal error occurred: boom',
  );
  assert.equal(statusMessage('v3.channel.k8s.io', { kind: 'success' }), undefined);
  assert.match(
    String(statusMessage('v2.channel.k8s.io', { kind: 'exit', code: 2, command: ['x'] })),
    /exit code 2/,
  );
});

test('remote command: streams are collected by type, once each, within the deadline', async () => {
  const stream = (type: string) =>
    ({ header: (n: string) => (n === 'streamType' ? type : undefined) }) as SpdyStream;
  const c = new StreamCollector(['error', 'stdout']);
  const ac = new AbortController();
  const waiting = c.wait(5000, ac.signal);
  assert.equal(c.accept(stream('error')), true);
  assert.equal(c.accept(stream('error')), false, 'a second error stream');
  assert.equal(c.accept(stream('stdin')), false, 'not asked for');
  assert.equal(c.accept(stream('stdout')), true);
  const got = await waiting;
  assert.ok(got.error !== undefined && got.stdout !== undefined && got.stdin === undefined);
  await assert.rejects(
    new StreamCollector(['error']).wait(10, ac.signal),
    /timed out waiting for the client/,
  );
});

test('remote command: resize events are JSON lines, malformed ones skipped', async () => {
  const input = Readable.from([
    Buffer.from('{"Width":80,"Height":24}\n{"wid'),
    Buffer.from('th":100,"height":50}\nnot json\n{"Width":1}\n{"Width":7,"Height":8}'),
  ]);
  const sizes = [];
  for await (const s of terminalSizes(input)) sizes.push(s);
  assert.deepEqual(sizes, [
    { width: 80, height: 24 },
    { width: 100, height: 50 },
    { width: 7, height: 8 },
  ]);
});
