// conmon 2.1.6's attach socket and control FIFO with real runc and busybox: stdin through socat,
// conmon closing the container's stdin when the client hangs up, terminal resizes (src/shim/attach*.ts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CanceledError, NotFoundError, UnavailableError } from '../../src/errdefs/index.ts';
import {
  attachSocketPath,
  attachStdin,
  type CriLogRecord,
  CTL_MESSAGE_BYTES,
  ctlFifoPath,
  launchConmon,
  RESIZE_MIN_GAP_MS,
  readLog,
  reopenContainerLog,
  resizeTerminal,
  type ShimProcess,
  watchExit,
} from '../../src/shim/index.ts';
import { busyboxBundle, ContainerTracker, uniqueId } from '../harness/containers.ts';
import { needs, which } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = needs('runc', 'conmon', 'busybox', 'socat');

interface Started {
  id: string;
  bundle: string;
  shim: ShimProcess;
  exitDir: string;
  logPath: string;
  socket: string;
  rt: ReturnType<ContainerTracker['runtime']>;
  track: ContainerTracker;
}

/** conmon + runc create for `args`; with `terminal`, the bundle gets a devpts and process.terminal. */
async function create(
  t: TestContext,
  args: string[],
  o: { stdin?: boolean; terminal?: boolean },
): Promise<Started> {
  const track = new ContainerTracker(t);
  const dir = tempDir(t, 'attach');
  track.root = dir;
  const rt = track.runtime('runc', join(dir, 'state'));
  const id = uniqueId('attach');
  const bundle = busyboxBundle(join(dir, 'bundle'), { args, cgroupsPath: track.container(rt, id) });
  if (o.terminal === true) {
    symlinkSync('busybox', join(bundle, 'rootfs', 'bin', 'stty'));
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    config.process.terminal = true;
    config.mounts.push({
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
    });
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  }
  const exitDir = join(dir, 'exits');
  const logPath = join(dir, 'ctr.log');
  const socketDir = join(dir, 'sock');
  const shim = await launchConmon(
    {
      id,
      runtime: rt.invocation(),
      bundle,
      containerPidFile: join(dir, 'ctr.pid'),
      conmonPidFile: join(dir, 'conmon.pid'),
      logPath,
      exitDir,
      socketDir,
      ...o,
    },
    { conmonPath: which('conmon')!, forceDelete: (cid) => rt.delete(cid, { force: true }) },
  );
  track.pid(shim.conmonPid);
  track.pid(shim.containerPid);
  return { id, bundle, shim, exitDir, logPath, socket: attachSocketPath(socketDir, id), rt, track };
}

async function records(path: string): Promise<CriLogRecord[]> {
  const out: CriLogRecord[] = [];
  for await (const r of readLog(path)) out.push(r);
  return out;
}
const show = (rs: CriLogRecord[]) => rs.map((r) => `${r.stream} ${r.partial ? 'P' : 'F'} ${r.text}`);

async function finish(s: Started, exitCode: number): Promise<void> {
  const exit = watchExit(s.exitDir, s.id, {
    conmonPid: s.shim.conmonPid,
    signal: AbortSignal.timeout(15_000),
  });
  assert.deepEqual(await exit, { kind: 'exited', exitCode });
  await s.rt.delete(s.id);
  await s.track.assertGone(s.id, [s.shim.containerPid, s.shim.conmonPid]);
}

test('-i: input reaches cat through the attach socket; its end closes stdin, cat exits 0', {
  skip,
}, async (t) => {
  const s = await create(t, ['cat'], { stdin: true });
  await s.rt.start(s.id);
  await attachStdin(s.socket, Readable.from([Buffer.from('hel'), Buffer.from('lo\n')]), {
    signal: AbortSignal.timeout(15_000),
  });
  await finish(s, 0);
  assert.deepEqual(show(await records(s.logPath)), ['stdout F hello']);
});

test('-i: input larger than one packet arrives whole and in order', { skip }, async (t) => {
  const s = await create(t, ['wc', '-c'], { stdin: true });
  const big = Buffer.alloc(1024 * 1024 + 7, 0x61);
  await s.rt.start(s.id);
  await attachStdin(s.socket, Readable.from([big]), { signal: AbortSignal.timeout(15_000) });
  await finish(s, 0);
  assert.deepEqual(
    (await records(s.logPath)).map((r) => r.text.toString().trim()),
    [String(big.length)],
  );
});

test('-i: attached before start; aborting closes stdin too; the container exits 0', { skip }, async (t) => {
  const s = await create(t, ['cat'], { stdin: true });
  const input = new PassThrough();
  const ac = new AbortController();
  const attached = attachStdin(s.socket, input, { signal: ac.signal });
  input.write('early\n');
  await s.rt.start(s.id);
  for (let i = 0; i < 100 && (await records(s.logPath)).length === 0; i++) await sleep(20);
  ac.abort();
  await assert.rejects(attached, CanceledError);
  await finish(s, 0);
  assert.deepEqual(show(await records(s.logPath)), ['stdout F early']);
});

test('-i: the container exiting first ends the attach without an error', { skip }, async (t) => {
  const s = await create(t, ['sh', '-c', 'read line; echo "got $line"'], { stdin: true });
  await s.rt.start(s.id);
  const input = new PassThrough();
  input.write('one\n');
  const attached = attachStdin(s.socket, input, { signal: AbortSignal.timeout(15_000) });
  await finish(s, 0);
  await attached; // socat sees conmon hang up; the input still open is dropped
  assert.deepEqual(show(await records(s.logPath)), ['stdout F got one']);
  await assert.rejects(
    attachStdin(s.socket, Readable.from(['late\n'])),
    (err: unknown) => err instanceof UnavailableError && /socat/.test(err.message),
  );
});

test('-i: a chatty container does not stall while attached (its output packets are drained)', {
  skip,
}, async (t) => {
  // conmon writes every output chunk to each attached client with a blocking write (conn_sock.c
  // write_back_to_remote_consoles): a client that never reads would stall conmon after ~200 KiB.
  const s = await create(t, ['sh', '-c', 'seq 1 60000; read x; echo "got $x"'], { stdin: true });
  const input = new PassThrough();
  const attached = attachStdin(s.socket, input, { signal: AbortSignal.timeout(20_000) });
  await s.rt.start(s.id);
  await waitForLine(s.logPath, '60000');
  input.end('x\n');
  await attached;
  await finish(s, 0);
  const last = (await records(s.logPath)).at(-1);
  assert.equal(last?.text.toString(), 'got x');
});

/** Waits until the log's last lines hold a record whose text (less the pty's \r) is `text`. */
async function waitForLine(path: string, text: string): Promise<void> {
  let last: CriLogRecord[] = [];
  for (let i = 0; i < 500; i++) {
    last = [];
    for await (const r of readLog(path, { tail: 5 })) last.push(r);
    if (last.some((r) => r.text.toString().replace(/\r$/, '') === text)) return;
    await sleep(20);
  }
  assert.fail(`no line ${JSON.stringify(text)} at the end of the log: ${show(last).join(' | ')}`);
}

test('-t: resizes reach the pty, the last one wins, and fail cleanly once conmon is gone', {
  skip,
}, async (t) => {
  // Each `read` holds the shell until the sizes are set; the pty echoes input lines into the log.
  const s = await create(t, ['sh', '-c', 'read a; stty size; read b; stty size'], {
    stdin: true,
    terminal: true,
  });
  const ctl = ctlFifoPath(s.bundle);
  const input = new PassThrough();
  const attached = attachStdin(s.socket, input, { signal: AbortSignal.timeout(15_000) });
  // A burst, as SIGWINCH gives while a window is dragged: coalesced to its last size.
  await Promise.all([resizeTerminal(ctl, 10, 20), resizeTerminal(ctl, 25, 80), resizeTerminal(ctl, 30, 100)]);
  await s.rt.start(s.id);
  input.write('one\n');
  await waitForLine(s.logPath, '30 100');
  // One after the other: spaced so conmon's winsz reader never takes two at once (attach-ctl.ts).
  for (let i = 1; i <= 5; i++) await resizeTerminal(ctl, 10 + i, 20 + i);
  await sleep(50);
  input.end('two\n');
  await attached;
  await finish(s, 0);
  const lines = (await records(s.logPath)).map((r) => r.text.toString().replace(/\r$/, ''));
  assert.deepEqual(lines, ['one', '30 100', 'two', '15 25']);
  await assert.rejects(resizeTerminal(ctl, 40, 120), UnavailableError);
  await assert.rejects(resizeTerminal(join(s.bundle, 'nope'), 40, 120), NotFoundError);
  await assert.rejects(resizeTerminal(ctl, 0, 120), /rows must be/);
});

test('ctl messages: one conmon read each (padded), resizes spaced, ENXIO without a reader', {
  skip: needs('mkfifo'),
}, async (t) => {
  const dir = tempDir(t, 'attach-ctl');
  const ctl = join(dir, 'ctl');
  execFileSync('mkfifo', [ctl]);
  await assert.rejects(resizeTerminal(ctl, 24, 80), UnavailableError); // no reader: conmon is gone
  const reader = openSync(ctl, constants.O_RDONLY | constants.O_NONBLOCK);
  t.after(() => closeSync(reader));
  const before = Date.now();
  await resizeTerminal(ctl, 24, 80);
  await resizeTerminal(ctl, 50, 132);
  const spacing = Date.now() - before;
  await reopenContainerLog(ctl);
  const buf = Buffer.alloc(4096);
  const n = readSync(reader, buf);
  assert.equal(n, 3 * CTL_MESSAGE_BYTES);
  const messages = [0, 1, 2].map((i) =>
    buf.toString('latin1', i * CTL_MESSAGE_BYTES, (i + 1) * CTL_MESSAGE_BYTES),
  );
  assert.deepEqual(
    messages.map((m) => m.trimEnd()),
    ['1 24 80', '1 50 132', '2 0 0'],
  );
  assert.ok(messages.every((m) => m.endsWith(' \n') && m.indexOf('\n') === CTL_MESSAGE_BYTES - 1));
  assert.ok(spacing >= RESIZE_MIN_GAP_MS - 2, `two resizes ${spacing} ms apart`);
});
