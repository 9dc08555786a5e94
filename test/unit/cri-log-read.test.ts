// readLog (tail, since, follow across appends, conmon's reopen and truncation) and writeLog, on files
// written the way conmon writes them (src/ctr_logging.c write_k8s_log, reopen_k8s_file).
import assert from 'node:assert/strict';
import { appendFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundError } from '../../src/errdefs/index.ts';
import {
  CriLogDecoder,
  CriLogParseError,
  type CriLogRecord,
  findTail,
  inTail,
  type LogStream,
  readLog,
  writeLog,
} from '../../src/shim/index.ts';
import { tempDir } from '../harness/tmp.ts';

const T = '2024-05-01T10:00:00.000000000+00:00';

function rec(stream: LogStream, partial: boolean, text: string, time = T): CriLogRecord {
  return { time, stream, partial, text: Buffer.from(text) };
}
function bytesOf(records: CriLogRecord[]): Buffer {
  return Buffer.concat(
    records.map((r) => Buffer.from(`${r.time} ${r.stream} ${r.partial ? 'P' : 'F'} ${r.text}\n`)),
  );
}
const show = (rs: CriLogRecord[]) => rs.map((r) => `${r.stream[3]}${r.partial ? 'P' : 'F'}:${r.text}`);

async function collect(it: AsyncIterable<CriLogRecord>): Promise<CriLogRecord[]> {
  const out: CriLogRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

/** A log of interleaved stdout/stderr lines, some split into P records (seeded, so reproducible). */
function randomLog(n: number, seed: number): CriLogRecord[] {
  let x = seed;
  const rand = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
  const out: CriLogRecord[] = [];
  for (let i = 0; i < n; i++) {
    out.push(rec(rand() < 0.3 ? 'stderr' : 'stdout', rand() < 0.35, `r${i}`));
  }
  return out;
}

/**
 * The last `n` lines (by their F record) with all their records, plus each stream's unfinished line
 * when that stream wrote anything since the first of those lines ended.
 */
function referenceTail(records: CriLogRecord[], n: number): CriLogRecord[] {
  if (n <= 0) return [];
  const open: Record<LogStream, number[]> = { stdout: [], stderr: [] };
  const lines: { f: number; members: number[] }[] = [];
  records.forEach((r, i) => {
    open[r.stream].push(i);
    if (!r.partial) {
      lines.push({ f: i, members: open[r.stream] });
      open[r.stream] = [];
    }
  });
  const window = lines.slice(-n);
  const boundary = lines.length > n ? window[0]!.f : 0;
  const keep = new Set<number>();
  for (const s of ['stdout', 'stderr'] as const) {
    if ((open[s].at(-1) ?? -1) >= boundary) for (const i of open[s]) keep.add(i);
  }
  for (const l of window) for (const i of l.members) keep.add(i);
  return records.filter((_, i) => keep.has(i));
}

test('tail N: exactly the last N lines with their P records, for any chunk size', async (t) => {
  const dir = tempDir(t, 'cri-tail');
  const records = randomLog(300, 7);
  const path = join(dir, 'ctr.log');
  const bytes = bytesOf(records);
  writeFileSync(path, bytes);
  const fh = await open(path);
  t.after(() => fh.close());
  for (const chunkBytes of [13, 100, 4096]) {
    for (const n of [0, 1, 2, 3, 5, 17, 100, 250, 1000]) {
      const w = await findTail(fh, bytes.length, n, { chunkBytes });
      const got: CriLogRecord[] = [];
      new CriLogDecoder({ offset: w.start }).write(bytes.subarray(w.start), (r, at) => {
        if (inTail(w, r, at)) got.push(r);
      });
      assert.deepEqual(show(got), show(referenceTail(records, n)), `tail ${n}, chunks of ${chunkBytes}`);
    }
  }
  assert.deepEqual(show(await collect(readLog(path, { tail: 4 }))), show(referenceTail(records, 4)));
});

test('tail on a large file reads only its end, backwards', async (t) => {
  const dir = tempDir(t, 'cri-tail-big');
  const path = join(dir, 'big.log');
  const block = bytesOf(
    Array.from({ length: 1000 }, (_, i) => rec('stdout', false, `line ${i} ${'x'.repeat(60)}`)),
  );
  const fh = await open(path, 'w+');
  for (let i = 0; i < 400; i++) await fh.write(block); // ~40 MiB
  const size = (await fh.stat()).size;
  let read = 0;
  const counting = {
    read: (b: Buffer, o: number, l: number, p: number) => {
      read += l;
      return fh.read(b, o, l, p);
    },
  } as unknown as FileHandle;
  const w = await findTail(counting, size, 10);
  await fh.close();
  assert.ok(read <= 128 * 1024, `read ${read} bytes of ${size}`);
  const last = await collect(readLog(path, { tail: 10 }));
  assert.deepEqual(
    last.map((r) => r.text.toString().split(' ')[1]),
    ['990', '991', '992', '993', '994', '995', '996', '997', '998', '999'],
  );
  const lineBytes = bytesOf([rec('stdout', false, `line 990 ${'x'.repeat(60)}`)]).length;
  assert.equal(w.boundary, size - 10 * lineBytes);
});

test('since keeps records at or after the time; a missing log is NotFound', async (t) => {
  const dir = tempDir(t, 'cri-since');
  const path = join(dir, 'ctr.log');
  writeFileSync(
    path,
    bytesOf([
      rec('stdout', false, 'old', '2024-05-01T10:00:00.999999999+02:00'),
      rec('stdout', false, 'new', '2024-05-01T08:00:01.000000000Z'),
      rec('stderr', false, 'newer', '2024-05-01T08:00:01.000000001Z'),
    ]),
  );
  assert.deepEqual(show(await collect(readLog(path, { since: '2024-05-01T08:00:01Z' }))), [
    'oF:new',
    'eF:newer',
  ]);
  assert.deepEqual(show(await collect(readLog(path, { since: new Date('2024-05-01T08:00:01.001Z') }))), []);
  await assert.rejects(collect(readLog(join(dir, 'none.log'))), NotFoundError);
});

test('follow: appends, conmon-style reopen (tmp + rename), truncation, then writer done', async (t) => {
  const dir = tempDir(t, 'cri-follow');
  const path = join(dir, 'ctr.log');
  let exited!: () => void;
  const until = new Promise<void>((resolve) => {
    exited = resolve;
  });
  const got: string[] = [];
  // The log does not exist yet: a follower waits for it.
  const reading = (async () => {
    for await (const r of readLog(path, { follow: true, until, pollMs: 20 })) got.push(show([r])[0]!);
  })();
  const waitFor = async (n: number) => {
    for (let i = 0; i < 200 && got.length < n; i++) await sleep(10);
    assert.equal(got.length, n, `records so far: ${got.join(' ')}`);
  };
  writeFileSync(path, bytesOf([rec('stdout', false, 'a')]));
  await waitFor(1);
  // Half a record, then the rest: nothing until the line is complete.
  const b = bytesOf([rec('stdout', true, 'b1'), rec('stdout', false, 'b2')]);
  appendFileSync(path, b.subarray(0, 50));
  await sleep(60);
  appendFileSync(path, b.subarray(50));
  await waitFor(3);
  // Reopen as conmon does it: a last write to the old file, then a new file renamed over the path.
  appendFileSync(path, bytesOf([rec('stderr', false, 'c')]));
  writeFileSync(`${path}.tmp`, bytesOf([rec('stdout', false, 'd')]));
  renameSync(`${path}.tmp`, path);
  await waitFor(5);
  // Truncated in place (copytruncate), then written again.
  truncateSync(path, 0);
  await sleep(60);
  appendFileSync(path, bytesOf([rec('stdout', false, 'e')]));
  await waitFor(6);
  appendFileSync(path, bytesOf([rec('stdout', false, 'f')]));
  exited();
  await reading;
  assert.deepEqual(got, ['oF:a', 'oP:b1', 'oF:b2', 'eF:c', 'oF:d', 'oF:e', 'oF:f']);
});

test('follow ends quietly on abort; until may be a function; a torn last line is data loss', async (t) => {
  const dir = tempDir(t, 'cri-follow-end');
  const path = join(dir, 'ctr.log');
  writeFileSync(path, bytesOf([rec('stdout', false, 'x')]));
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  assert.deepEqual(show(await collect(readLog(path, { follow: true, signal: ac.signal }))), ['oF:x']);

  let done = false;
  setTimeout(() => {
    appendFileSync(path, bytesOf([rec('stdout', false, 'y')]));
    done = true;
  }, 50);
  const ys = await collect(readLog(path, { follow: true, until: () => done, pollMs: 10, tail: 0 }));
  assert.deepEqual(show(ys), ['oF:y']);

  appendFileSync(path, `${T} stdout F torn`);
  await assert.rejects(
    collect(readLog(path, { follow: true, until: Promise.resolve() })),
    (err: unknown) => err instanceof CriLogParseError && /ends inside a line/.test(err.message),
  );
  const failed = Promise.reject(new Error('watch failed'));
  await assert.rejects(collect(readLog(path, { follow: true, until: failed, tail: 0 })), /watch failed/);
});

test('writeLog splits streams and waits for a slow reader', async () => {
  const stdout = new PassThrough({ highWaterMark: 16 });
  const stderr = new PassThrough();
  async function* records() {
    for (let i = 0; i < 50; i++) yield rec(i % 5 === 0 ? 'stderr' : 'stdout', i % 3 === 0, `${i}`);
  }
  let outText = '';
  const slow = (async () => {
    for await (const c of stdout) {
      outText += c;
      await sleep(1);
    }
  })();
  const errText: string[] = [];
  stderr.on('data', (c: Buffer) => errText.push(c.toString()));
  await writeLog(records(), { stdout, stderr });
  stdout.end();
  await slow;
  const expected = { stdout: '', stderr: '' };
  for await (const r of records()) expected[r.stream] += `${r.text}${r.partial ? '' : '\n'}`;
  assert.equal(outText, expected.stdout);
  assert.equal(errText.join(''), expected.stderr);
  assert.ok(expected.stderr.startsWith('05\n10\n15'));
});
