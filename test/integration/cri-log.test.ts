// Reading the CRI log conmon 2.1.6 writes, with real runc and busybox: a foreground run's output
// followed to the container's exit, tail over P-split lines, and following across conmon's reopen
// (ctl message 2) and --log-size-max truncation (src/shim/cri-log*.ts).
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ConmonSpec,
  type CriLogRecord,
  ctlFifoPath,
  launchConmon,
  readLog,
  reopenContainerLog,
  type ShimProcess,
  watchExit,
  writeLog,
} from '../../src/shim/index.ts';
import { busyboxBundle, ContainerTracker, uniqueId } from '../harness/containers.ts';
import { needs, which } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = needs('runc', 'conmon', 'busybox');

interface Created {
  id: string;
  bundle: string;
  shim: ShimProcess;
  logPath: string;
  /** Resolves when the container has exited (conmon's exit file), with its exit code. */
  exited: () => Promise<number>;
  rt: ReturnType<ContainerTracker['runtime']>;
  track: ContainerTracker;
}

/** conmon + runc create (not started) for `sh -c script`. */
async function create(t: TestContext, script: string, extra: Partial<ConmonSpec> = {}): Promise<Created> {
  const track = new ContainerTracker(t);
  const dir = tempDir(t, 'cri-log');
  track.root = dir;
  const rt = track.runtime('runc', join(dir, 'state'));
  const id = uniqueId('cri-log');
  const bundle = busyboxBundle(join(dir, 'bundle'), {
    args: ['sh', '-c', script],
    cgroupsPath: track.container(rt, id),
  });
  const exitDir = join(dir, 'exits');
  const logPath = join(dir, 'ctr.log');
  const shim = await launchConmon(
    {
      id,
      runtime: rt.invocation(),
      bundle,
      containerPidFile: join(dir, 'ctr.pid'),
      conmonPidFile: join(dir, 'conmon.pid'),
      logPath,
      exitDir,
      socketDir: join(dir, 'sock'),
      ...extra,
    },
    { conmonPath: which('conmon')!, forceDelete: (cid) => rt.delete(cid, { force: true }) },
  );
  track.pid(shim.conmonPid);
  track.pid(shim.containerPid);
  const exit = watchExit(exitDir, id, { conmonPid: shim.conmonPid, signal: AbortSignal.timeout(30_000) });
  exit.catch(() => undefined); // awaited through exited(); a test that fails first must not leak a rejection
  const exited = async () => {
    const r = await exit;
    assert.equal(r.kind, 'exited');
    return r.kind === 'exited' ? r.exitCode : -1;
  };
  return { id, bundle, shim, logPath, exited, rt, track };
}

async function cleanup(c: Created): Promise<void> {
  await c.rt.delete(c.id);
  await c.track.assertGone(c.id, [c.shim.containerPid, c.shim.conmonPid]);
}

async function collect(it: AsyncIterable<CriLogRecord>): Promise<CriLogRecord[]> {
  const out: CriLogRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

test('foreground run: the followed log gives stdout and stderr apart, and ends at exit', {
  skip,
}, async (t) => {
  const script =
    'echo out1; echo err1 >&2; printf "no newline yet"; sleep 0.3; echo " done"; ' +
    'i=0; while [ $i -lt 5 ]; do echo line$i; i=$((i+1)); sleep 0.05; done; echo bye >&2; exit 3';
  const c = await create(t, script);
  const out = sink();
  const err = sink();
  const following = writeLog(
    readLog(c.logPath, { follow: true, until: c.exited(), pollMs: 50 }),
    { stdout: out.stream, stderr: err.stream },
    { signal: AbortSignal.timeout(30_000) },
  );
  await c.rt.start(c.id);
  await following;
  assert.equal(await c.exited(), 3);
  assert.equal(out.text(), 'out1\nno newline yet done\nline0\nline1\nline2\nline3\nline4\n');
  assert.equal(err.text(), 'err1\nbye\n');
  await cleanup(c);
});

test('tail counts full lines: a line conmon split into P records comes whole', { skip }, async (t) => {
  // One stream only: conmon reads stdout and stderr separately, so their order in the log may differ
  // from the order the container wrote them in.
  const c = await create(t, 'seq 1 3000; head -c 20000 /dev/zero | tr "\\0" x; echo; echo last');
  await c.rt.start(c.id);
  assert.equal(await c.exited(), 0);
  const text = (rs: CriLogRecord[]) => rs.map((r) => r.text.toString());
  assert.deepEqual(text(await collect(readLog(c.logPath, { tail: 1 }))), ['last']);
  const tail3 = await collect(readLog(c.logPath, { tail: 3 }));
  assert.ok(tail3.filter((r) => r.partial).length >= 2, 'the long line is in P records');
  assert.deepEqual([text(tail3)[0], text(tail3).at(-1)], ['3000', 'last']);
  assert.equal(Buffer.concat(tail3.slice(1, -1).map((r) => r.text)).toString(), 'x'.repeat(20000));
  assert.deepEqual(await collect(readLog(c.logPath, { tail: 0 })), []);
  await cleanup(c);
});

/** Reads `1`…`n` from the followed log and checks none is lost or repeated. */
function assertSequence(records: CriLogRecord[], n: number): void {
  const got = records.map((r) => r.text.toString());
  assert.deepEqual(
    got,
    Array.from({ length: n }, (_, i) => String(i + 1)),
  );
}

test('follow survives conmon reopening the log (ReopenContainerLog)', { skip }, async (t) => {
  const c = await create(t, 'i=1; while [ $i -le 60 ]; do echo $i; i=$((i+1)); sleep 0.02; done');
  const following = collect(readLog(c.logPath, { follow: true, until: c.exited(), pollMs: 50 }));
  await c.rt.start(c.id);
  const inode = statSync(c.logPath).ino;
  // Spaced well apart: a follower that sleeps through two reopens loses the file between them.
  for (let i = 0; i < 3; i++) {
    await sleep(200);
    await reopenContainerLog(ctlFifoPath(c.bundle));
  }
  assert.equal(await c.exited(), 0);
  assertSequence(await following, 60);
  assert.notEqual(statSync(c.logPath).ino, inode, 'conmon replaced the file');
  const onDisk = (await collect(readLog(c.logPath))).map((r) => r.text.toString());
  assert.ok(onDisk.length < 60, `the file holds the lines since the last reopen only: ${onDisk.join(' ')}`);
  await cleanup(c);
});

test('follow survives --log-size-max truncation', { skip }, async (t) => {
  const c = await create(t, 'i=1; while [ $i -le 30 ]; do echo $i; i=$((i+1)); sleep 0.03; done', {
    logSizeMax: 300,
  });
  const following = collect(readLog(c.logPath, { follow: true, until: c.exited(), pollMs: 50 }));
  await c.rt.start(c.id);
  assert.equal(await c.exited(), 0);
  assertSequence(await following, 30);
  assert.ok(statSync(c.logPath).size <= 300, `log is ${statSync(c.logPath).size} bytes`);
  await cleanup(c);
});
