// The CRI streaming server's WebSocket side (exec and attach as client-go's WebSocket executor speaks
// them: v5.channel.k8s.io, v4.channel.k8s.io and the base64 forms), driven by a `ws` client: output
// on channels 1 and 2, the exit status on channel 3, stdin on channel 0 ended by v5's close signal,
// a terminal sized through the resize channel, a client that leaves (its process killed), attach
// following a container's output, and the refusals (no common subprotocol, port-forward). The
// set-up is test/harness/cri-streaming.ts (berthd's servers in this process, as berthd starts them).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { streamingTestEnv } from '../harness/cri-streaming.ts';
import { needs } from '../harness/requirements.ts';

const skip =
  process.getuid?.() !== 0
    ? 'needs root'
    : needs('runc', 'conmon', 'busybox', 'ip', 'nsenter', 'socat') || false;
const _berth = new URL('../../bin/berth', import.meta.url).pathname;

interface WsResult {
  /** The negotiated subprotocol. */
  protocol: string;
  /** What each channel carried, by channel number. */
  channels: Map<number, Buffer>;
  /** The close code. */
  code: number;
}

/**
 * Connects to `url` (http: the stream server's) as a WebSocket offering `protocols`, sends `send`
 * (raw messages) once open, and gathers the channels until the server closes.
 */
function wsSession(url: string, protocols: string[], send: (Buffer | string)[] = []): Promise<WsResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), protocols);
    const channels = new Map<number, Buffer>();
    const base64 = protocols.some((p) => p.includes('base64'));
    const timer = setTimeout(() => ws.terminate(), 30_000);
    ws.on('open', () => {
      for (const m of send) ws.send(m, { binary: typeof m !== 'string' });
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (data.length === 0) return;
      const channel = base64 ? data[0]! - 0x30 : data[0]!;
      assert.equal(isBinary, !base64, 'binary messages, or text ones for base64');
      const payload = base64 ? Buffer.from(data.subarray(1).toString(), 'base64') : data.subarray(1);
      channels.set(channel, Buffer.concat([channels.get(channel) ?? Buffer.alloc(0), payload]));
    });
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      let body = '';
      res.on('data', (b: Buffer) => {
        body += b.toString();
      });
      res.on('end', () => reject(new Error(`HTTP ${res.statusCode}: ${body.trim()}`)));
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      resolve({ protocol: ws.protocol, channels, code });
    });
  });
}

const text = (r: WsResult, channel: number) => r.channels.get(channel)?.toString() ?? '';
const status = (r: WsResult) => JSON.parse(text(r, 3)) as Record<string, unknown>;

test('exec and attach over WebSocket through the streaming server', { skip }, async (t) => {
  const env = await streamingTestEnv(t, 'stream-ws');
  const sleeper = await env.run('sleeper', 'sleep 600');
  const execUrl = async (cmd: string[], extra: { stdin?: boolean } = {}) =>
    (await env.client.exec({ containerId: sleeper, cmd, stdout: true, stderr: true, ...extra })).url;

  await t.test('v5: stdout and stderr on channels 1 and 2, the exit code on the error channel', async () => {
    const r = await wsSession(await execUrl(['sh', '-c', 'echo out; echo err >&2; exit 3']), [
      'v5.channel.k8s.io',
      'v4.channel.k8s.io',
    ]);
    assert.equal(r.protocol, 'v5.channel.k8s.io');
    assert.equal(text(r, 1), 'out\n');
    assert.equal(text(r, 2), 'err\n');
    const s = status(r);
    assert.equal(s.status, 'Failure');
    assert.equal(s.reason, 'NonZeroExitCode');
    assert.deepEqual(s.details, { causes: [{ reason: 'ExitCode', message: '3' }] });
    assert.equal(r.code, 1000);
  });

  await t.test('v5: stdin on channel 0 reaches the process; 255 0 ends it', async () => {
    const r = await wsSession(
      await execUrl(['cat'], { stdin: true }),
      ['v5.channel.k8s.io'],
      [Buffer.from('\0hello '), Buffer.from('\0world\n'), Buffer.from([255, 0])],
    );
    assert.equal(text(r, 1), 'hello world\n');
    assert.equal(status(r).status, 'Success');
  });

  await t.test('v4 binary and v4 base64 carry the same channels', async () => {
    const v4 = await wsSession(await execUrl(['sh', '-c', 'echo fine; echo warn >&2']), [
      'v4.channel.k8s.io',
    ]);
    assert.equal(v4.protocol, 'v4.channel.k8s.io');
    assert.deepEqual([text(v4, 1), text(v4, 2), status(v4).status], ['fine\n', 'warn\n', 'Success']);
    const b64 = await wsSession(await execUrl(['sh', '-c', 'echo fine; exit 2']), [
      'v4.base64.channel.k8s.io',
    ]);
    assert.equal(b64.protocol, 'v4.base64.channel.k8s.io');
    assert.equal(text(b64, 1), 'fine\n');
    assert.deepEqual(status(b64).details, { causes: [{ reason: 'ExitCode', message: '2' }] });
  });

  await t.test('no common subprotocol, and port-forward, are refused before the upgrade', async () => {
    await assert.rejects(wsSession(await execUrl(['true']), ['v9.channel.k8s.io']), /HTTP 400: .*negotiate/);
    const { url } = await env.client.portForward({ podSandboxId: env.podSandboxId, port: [80] });
    await assert.rejects(wsSession(url, ['v4.channel.k8s.io']), /HTTP 400: .*port-forward over WebSocket/);
  });

  await t.test('exec with a terminal: the size from the resize channel, output on stdout', async () => {
    const { url } = await env.client.exec({
      containerId: sleeper,
      cmd: ['sh', '-c', 'sleep 1; stty size'],
      tty: true,
      stdout: true,
    });
    const r = await wsSession(url, ['v5.channel.k8s.io'], [Buffer.from('\x04{"Width":101,"Height":33}\n')]);
    assert.match(text(r, 1), /^33 101\r?\n$/);
    assert.equal(status(r).status, 'Success');
  });

  await t.test('a client that goes away ends its exec: the process is killed', async () => {
    const ws = new WebSocket(
      (await execUrl(['sh', '-c', 'echo started; exec sleep 4321'])).replace(/^http/, 'ws'),
      ['v5.channel.k8s.io'],
    );
    ws.on('error', () => undefined);
    await new Promise<void>((resolve) =>
      ws.on('message', (data: Buffer) => {
        if (data[0] === 1 && data.subarray(1).toString().includes('started')) resolve();
      }),
    );
    const running = async () =>
      Buffer.from((await env.client.execSync({ containerId: sleeper, cmd: ['ps'], timeout: 10n })).stdout)
        .toString()
        .includes('sleep 4321');
    assert.equal(await running(), true);
    ws.terminate();
    for (let i = 0; (await running()) && i < 100; i++) await sleep(50);
    assert.equal(await running(), false, 'the exec process outlived its client');
  });

  await t.test('attach follows a container over WebSocket until it exits', async () => {
    const talker = await env.run('talker', 'sleep 2; echo hello; echo oops >&2');
    const { url } = await env.client.attach({ containerId: talker, stdout: true, stderr: true });
    const r = await wsSession(url, ['v5.channel.k8s.io']);
    assert.equal(text(r, 1), 'hello\n');
    assert.equal(text(r, 2), 'oops\n');
    assert.equal(status(r).status, 'Success');
  });
});
