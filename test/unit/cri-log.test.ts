// The CRI log line parser, the streaming decoder, tail, and the renderer (src/shim/cri-log*.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataLossError, InvalidArgumentError } from '../../src/errdefs/index.ts';
import {
  CriLogDecoder,
  CriLogParseError,
  type CriLogRecord,
  CriLogRenderer,
  decodeCriLog,
  parseCriLogLine,
  sinceToNanos,
  timeToNanos,
  toUtcNanoFixed,
} from '../../src/shim/index.ts';

const line = (s: string) => Buffer.from(s);
const T = '2024-05-01T10:00:00.123456789+02:00';

test('parses F and P records, keeping the timestamp and the text as written', () => {
  assert.deepEqual(parseCriLogLine(line(`${T} stdout F hello world\n`)), {
    time: T,
    stream: 'stdout',
    partial: false,
    text: Buffer.from('hello world'),
  });
  const p = parseCriLogLine(line('2024-05-01T08:00:00.5Z stderr P  two  spaces '));
  assert.equal(p.stream, 'stderr');
  assert.equal(p.partial, true);
  assert.equal(p.text.toString(), ' two  spaces ');
  assert.equal(p.time, '2024-05-01T08:00:00.5Z');
});

test('an empty line of output is an F record with empty text; tag extras are ignored', () => {
  assert.equal(parseCriLogLine(line(`${T} stdout F `)).text.length, 0);
  const r = parseCriLogLine(line(`${T} stdout F:x:y text`));
  assert.equal(r.partial, false);
  assert.equal(r.text.toString(), 'text');
});

test('text bytes are kept exactly, including invalid UTF-8 and carriage returns', () => {
  const bytes = Buffer.concat([line(`${T} stdout P `), Buffer.from([0xe2, 0x82, 0x0d, 0xff])]);
  assert.deepEqual([...parseCriLogLine(bytes).text], [0xe2, 0x82, 0x0d, 0xff]);
});

test('malformed lines throw CriLogParseError (a DataLossError) naming the line', () => {
  const bad: [string, RegExp][] = [
    ['', /no timestamp/],
    ['garbage', /no timestamp/],
    ['2024-05-01 10:00:00 stdout F x', /not RFC3339Nano/],
    ['2024-05-01T10:00:00.1234567890Z stdout F x', /not RFC3339Nano/],
    [`${T} stdin F x`, /stream is not stdout or stderr/],
    [`${T} stdout`, /stream is not stdout or stderr/],
    [`${T} stdout F`, /no P\/F tag/],
    [`${T} stdout X text`, /tag is "X"/],
    [`${T} stdout  F text`, /tag is ""/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parseCriLogLine(line(text), { source: '/x/ctr.log', lineNumber: 7, offset: 99 }),
      (err: unknown) => {
        assert.ok(err instanceof CriLogParseError && err instanceof DataLossError, String(err));
        assert.match(err.message, re);
        assert.match(err.message, /^\/x\/ctr\.log line 7 \(byte 99\): /);
        assert.equal(err.lineNumber, 7);
        assert.equal(err.excerpt, text);
        return true;
      },
      text,
    );
  }
});

test('timestamps: offsets honoured, nanoseconds kept, docker -t form in UTC', () => {
  assert.equal(timeToNanos('1970-01-01T00:00:01.000000001Z'), 1_000_000_001n);
  assert.equal(timeToNanos('1970-01-01T01:00:01+01:00'), 1_000_000_000n);
  assert.equal(timeToNanos('1969-12-31T23:59:59.5Z'), -500_000_000n);
  assert.equal(toUtcNanoFixed(T), '2024-05-01T08:00:00.123456789Z');
  assert.equal(toUtcNanoFixed('2024-05-01T23:30:00-01:00'), '2024-05-02T00:30:00.000000000Z');
  assert.equal(toUtcNanoFixed('1969-12-31T23:59:59.5Z'), '1969-12-31T23:59:59.500000000Z');
  assert.equal(sinceToNanos(new Date(1500)), 1_500_000_000n);
  assert.equal(sinceToNanos('1970-01-01T00:00:01.5Z'), 1_500_000_000n);
  assert.throws(() => sinceToNanos('yesterday'), InvalidArgumentError);
  assert.throws(() => sinceToNanos(new Date(Number.NaN)), InvalidArgumentError);
  assert.throws(() => timeToNanos('nope'), DataLossError);
});

function sampleLog(): { bytes: Buffer; records: CriLogRecord[] } {
  const records: CriLogRecord[] = [
    { time: T, stream: 'stdout', partial: false, text: Buffer.from('one') },
    { time: T, stream: 'stdout', partial: true, text: Buffer.from('long ') },
    { time: T, stream: 'stderr', partial: false, text: Buffer.from('oops') },
    { time: T, stream: 'stdout', partial: false, text: Buffer.from('line') },
    { time: T, stream: 'stdout', partial: false, text: Buffer.alloc(0) },
    { time: T, stream: 'stderr', partial: true, text: Buffer.from('é'.repeat(40)) },
  ];
  const bytes = Buffer.concat(
    records.map((r) =>
      Buffer.concat([
        Buffer.from(`${r.time} ${r.stream} ${r.partial ? 'P' : 'F'} `),
        r.text,
        Buffer.from('\n'),
      ]),
    ),
  );
  return { bytes, records };
}

test('the decoder gives the same records however the bytes are chunked', () => {
  const { bytes, records } = sampleLog();
  for (const size of [1, 2, 3, 7, 64, bytes.length]) {
    const d = new CriLogDecoder();
    const got: CriLogRecord[] = [];
    for (let i = 0; i < bytes.length; i += size) got.push(...d.push(bytes.subarray(i, i + size)));
    d.end();
    assert.deepEqual(got, records, `chunks of ${size}`);
    assert.equal(d.offset, bytes.length);
  }
});

test('the decoder reports offsets and copies texts out of the chunk', () => {
  const { bytes } = sampleLog();
  const chunk = Buffer.from(bytes);
  const seen: [string, number][] = [];
  const recs: CriLogRecord[] = [];
  new CriLogDecoder({ offset: 1000 }).write(chunk, (r, at) => {
    seen.push([r.text.toString(), at]);
    recs.push(r);
  });
  assert.deepEqual(seen[0], ['one', 1000]);
  assert.equal(seen[1]![1], 1000 + T.length + ' stdout F one\n'.length);
  chunk.fill(0x41);
  assert.equal(recs[0]!.text.toString(), 'one', 'texts do not alias the chunk');
});

test('the decoder holds an incomplete line, bounded; end() inside a line is data loss', async () => {
  const d = new CriLogDecoder({ source: 'ctr.log' });
  assert.deepEqual(d.push(line(`${T} stdout F a\n${T} std`)).length, 1);
  assert.equal(d.pendingBytes, T.length + 4);
  assert.throws(() => d.end(), /ctr\.log line 2 .*ends inside a line/);

  const small = new CriLogDecoder({ maxLineBytes: 100 });
  assert.throws(() => small.push(Buffer.alloc(101, 0x41)), /longer than 100 bytes/);

  const bad = new CriLogDecoder({ source: 'ctr.log' });
  assert.throws(
    () => bad.push(line(`${T} stdout F a\n${T} stdout F b\nbroken\n`)),
    (err: unknown) => err instanceof CriLogParseError && err.lineNumber === 3,
  );

  async function* chunks() {
    yield line(`${T} stdout F a\n${T} stderr `);
    yield line('F b\n');
  }
  const all: string[] = [];
  for await (const r of decodeCriLog(chunks())) all.push(`${r.stream}:${r.text}`);
  assert.deepEqual(all, ['stdout:a', 'stderr:b']);
});

test('rendering: F adds the newline back, P does not; timestamps once per line and stream', () => {
  const { records } = sampleLog();
  const plain = new CriLogRenderer();
  assert.equal(
    Buffer.concat(records.map((r) => plain.render(r))).toString(),
    `one\nlong oops\nline\n\n${'é'.repeat(40)}`,
  );
  const ts = new CriLogRenderer({ timestamps: true });
  const out = records.map((r) => ts.render(r).toString());
  const stamp = '2024-05-01T08:00:00.123456789Z ';
  assert.deepEqual(out.slice(0, 5), [
    `${stamp}one\n`,
    `${stamp}long `,
    `${stamp}oops\n`,
    'line\n', // continues stdout's partial line: no second stamp
    `${stamp}\n`,
  ]);
});
