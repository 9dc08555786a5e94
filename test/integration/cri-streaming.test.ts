// The CRI streaming server through crictl v1.29 (SPDY/3.1, k8s.io/client-go remotecommand and
// portforward): streaming exec (output on both streams, exit code, stdin, large data both ways, a
// missing command, the tty refusal, a client that leaves), attach (output followed live, stdin through
// conmon, a terminal with its size), and port-forward into the pod's network namespace (an HTTP server
// in the pod reached on a local port; a refused port reported). berthd's pieces run in this process: the runtime services berthd opens
// (daemon/runtime-services.ts), the stream server, and a gRPC server on a unix socket registering the
// RPCs crictl needs plus streamingRpcs() (the lines src/cri/server.ts will get). crictl is spawned
// asynchronously: a blocking spawn would stop the server it talks to.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { streamingTestEnv } from '../harness/cri-streaming.ts';
import { needs, which } from '../harness/requirements.ts';

const crictl =
  [process.env.BERTH_CRICTL, '/work/build/bin/crictl'].find((p) => p && existsSync(p)) ?? which('crictl');
const skip =
  process.getuid?.() !== 0
    ? 'needs root'
    : needs('runc', 'conmon', 'busybox', 'ip', 'nsenter', 'socat') ||
      (crictl === undefined ? 'needs crictl v1.29 (scripts/install-cri-tools builds it)' : false);
const _berth = new URL('../../bin/berth', import.meta.url).pathname;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** crictl, spawned without blocking this process (which serves it). */
function crictlRun(sock: string, args: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}) {
  const child = spawn(crictl!, ['--runtime-endpoint', `unix://${sock}`, '--timeout', '20s', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  child.stdin.on('error', () => undefined); // crictl may exit before reading all of it
  if (opts.input !== undefined) child.stdin.end(opts.input);
  else child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const done = new Promise<Result>((resolve) =>
    child.once('close', (status) => {
      clearTimeout(timer);
      if (process.env.BERTH_TEST_DEBUG === '1') {
        const show = (s: string) => JSON.stringify(s.length > 300 ? `${s.slice(0, 300)}…` : s);
        process.stderr.write(
          `crictl ${args.join(' ')}: ${status}\n  stdout ${show(stdout)}\n  stderr ${show(stderr)}\n`,
        );
      }
      resolve({ status, stdout, stderr });
    }),
  );
  return { child, done, output: () => ({ stdout, stderr }) };
}

/** `command` run by script(1) on a pseudo-terminal of 33x101, with `keys` typed after a moment. */
function crictlScript(command: string, keys: string): Promise<Result> {
  const child = spawn('script', ['-qefc', `stty rows 33 cols 101; exec ${command}`, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  child.stdin.on('error', () => undefined);
  setTimeout(() => child.stdin.write(keys), 1500).unref();
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.once('close', (status) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ status, stdout, stderr });
    }),
  );
}

/** A TCP port free on 127.0.0.1 just now. */
async function freePort(): Promise<number> {
  const s = createNetServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(
      { host: '127.0.0.1', port, path: '/', agent: false, headers: { connection: 'close' } },
      (res) => {
        let body = '';
        res.on('data', (b: Buffer) => {
          body += b.toString();
        });
        res.on('end', () => resolve(body));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('no answer through the port forward')));
  });
}

async function setUp(t: TestContext) {
  const env = await streamingTestEnv(t, 'stream');
  return {
    ...env,
    crictl: (args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }) =>
      crictlRun(env.sock, args, opts).done,
  };
}

test('crictl exec, attach and port-forward through the streaming server', { skip }, async (t) => {
  const env = await setUp(t);
  const sleeper = await env.run('sleeper', 'sleep 600');

  await t.test('the Exec RPC answers a one-time URL on 127.0.0.1', async () => {
    const { url } = await env.client.exec({ containerId: sleeper, cmd: ['true'], stdout: true });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]{43}$/);
    assert.ok(url.startsWith(env.streaming.baseUrl));
    await assert.rejects(env.client.exec({ containerId: sleeper, cmd: [], stdout: true }), /cmd is empty/);
    await assert.rejects(
      env.client.exec({
        containerId: sleeper,
        cmd: ['sh'],
        tty: true,
        stdin: true,
        stdout: true,
        stderr: true,
      }),
      /tty and stderr cannot both be true/,
    );
    await assert.rejects(env.client.exec({ containerId: 'nope', cmd: ['true'], stdout: true }), /not found/i);
    // The URL is for one connection: a second one gets 404.
    const first = await fetch(url, { method: 'POST' });
    assert.equal(first.status, 400, 'not an upgrade, but the token is spent');
    assert.equal((await fetch(url, { method: 'POST' })).status, 404);
  });

  await t.test('exec prints stdout and stderr and reports the exit code', async () => {
    const r = await env.crictl(['exec', sleeper, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.stdout, 'out\n');
    assert.match(r.stderr, /^err$/m);
    // crictl 1.29 turns the exit code into an error message and exits 1 (logrus.Fatal).
    assert.match(r.stderr, /command terminated with exit code 3/);
    assert.equal(r.status, 1);
    const ok = await env.crictl(['exec', sleeper, 'sh', '-c', 'echo fine']);
    assert.deepEqual([ok.status, ok.stdout], [0, 'fine\n'], ok.stderr);
  });

  await t.test('exec -i passes stdin and its end', async () => {
    const r = await env.crictl(['exec', '-i', sleeper, 'cat'], { input: 'hi\n' });
    assert.deepEqual([r.status, r.stdout], [0, 'hi\n'], r.stderr);
  });

  await t.test('exec moves megabytes both ways', async () => {
    const out = await env.crictl(['exec', sleeper, 'sh', '-c', "head -c 3000000 /dev/zero | tr '\\0' x"]);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout.length, 3_000_000);
    assert.ok(/^x+$/.test(out.stdout));
    const input = Buffer.alloc(2_000_000, 'y');
    const count = await env.crictl(['exec', '-i', sleeper, 'wc', '-c'], { input });
    assert.deepEqual([count.status, count.stdout.trim()], [0, '2000000'], count.stderr);
  });

  await t.test('exec of a missing command reports 127 with the reason', async () => {
    const r = await env.crictl(['exec', sleeper, 'no-such-command']);
    assert.match(r.stderr, /not found/);
    assert.match(r.stderr, /exit code 127/);
  });

  await t.test('a client that goes away ends its exec: the process is killed', async () => {
    const r = crictlRun(env.sock, ['exec', sleeper, 'sh', '-c', 'echo started; exec sleep 1234']);
    for (let i = 0; !r.output().stdout.includes('started'); i++) {
      if (i > 200) assert.fail(`exec did not start: ${JSON.stringify(r.output())}`);
      await sleep(50);
    }
    const running = async () =>
      Buffer.from((await env.client.execSync({ containerId: sleeper, cmd: ['ps'], timeout: 10n })).stdout)
        .toString()
        .includes('sleep 1234');
    assert.equal(await running(), true);
    r.child.kill('SIGKILL');
    await r.done;
    for (let i = 0; (await running()) && i < 100; i++) await sleep(50);
    assert.equal(await running(), false, 'the exec process outlived its client');
  });

  await t.test('attach follows the output of a running container until it exits', async () => {
    const ticker = await env.run(
      'ticker',
      'sleep 1; i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo tick-$i; echo tock-$i >&2; sleep 0.1; done',
    );
    const r = await env.crictl(['attach', ticker], { timeoutMs: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const ticks = r.stdout.trim().split('\n');
    assert.ok(ticks.length >= 20, `lines seen: ${r.stdout}`);
    assert.equal(ticks.at(-1), 'tick-30');
    assert.deepEqual(
      ticks,
      ticks.map((_, i) => `tick-${30 - ticks.length + 1 + i}`),
      'in order, none lost',
    );
    assert.match(r.stderr, /^tock-30$/m);
  });

  await t.test('attach -i writes to the container stdin through conmon', async () => {
    const reader = await env.run('reader', 'read line; sleep 0.5; echo got-$line', {
      stdin: true,
      stdinOnce: true,
    });
    const r = await env.crictl(['attach', '-i', reader], { input: 'hello\n', timeoutMs: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'got-hello\n');
  });

  await t.test(
    'attach -t -i to a container with a terminal: keys in, terminal output out, resize',
    {
      skip: which('script') === undefined ? 'needs script (util-linux) to give crictl a terminal' : false,
    },
    async () => {
      const shell = await env.run('tty', 'read line; stty size; echo got-$line', {
        stdin: true,
        stdinOnce: true,
        tty: true,
      });
      // crictl insists on a terminal for -t: script(1) gives it one (its size, 33x101 here, is sent as
      // the first resize), and passes our input on as keys.
      const command = [crictl!, '--runtime-endpoint', `unix://${env.sock}`, 'attach', '-t', '-i', shell].join(
        ' ',
      );
      const r = await crictlScript(command, 'hello\r');
      assert.match(r.stdout, /got-hello/, JSON.stringify(r));
      if (process.env.BERTH_TEST_DEBUG === '1') process.stderr.write(`tty attach: ${JSON.stringify(r)}\n`);
      assert.match(r.stdout, /^33 101\r?$/m, 'the terminal size crictl sent');
    },
  );

  await t.test(
    'exec -t -i: a pty of the client terminal size, keys in, the exit code',
    { skip: which('script') === undefined ? 'needs script (util-linux) to give crictl a terminal' : false },
    async () => {
      const command = [
        crictl!,
        '--runtime-endpoint',
        `unix://${env.sock}`,
        'exec',
        '-t',
        '-i',
        sleeper,
        'sh',
        '-c',
        `'read line; busybox tty; stty size; echo got-$line; exit 4'`,
      ].join(' ');
      const r = await crictlScript(command, 'hello\r');
      assert.match(r.stdout, /got-hello/, JSON.stringify(r));
      assert.match(r.stdout, /^\/dev\/pts\/\d+\r?$/m);
      assert.match(r.stdout, /^33 101\r?$/m, 'the terminal size crictl sent');
      assert.match(r.stdout + r.stderr, /exit code 4/);
    },
  );

  await t.test('port-forward reaches a server in the pod; a refused port is reported', async () => {
    await env.run(
      'web',
      'mkdir -p /tmp/www && echo hello-from-pod > /tmp/www/index.html && exec busybox httpd -f -p 8080 -h /tmp/www',
    );
    const local = await freePort();
    const refusedLocal = await freePort();
    const pf = crictlRun(env.sock, [
      'port-forward',
      env.podSandboxId,
      `${local}:8080`,
      `${refusedLocal}:8081`,
    ]);
    try {
      for (let i = 0; !pf.output().stdout.includes(`127.0.0.1:${refusedLocal} -> 8081`); i++) {
        if (i > 200 || pf.child.exitCode !== null)
          assert.fail(`port-forward did not start: ${JSON.stringify(pf.output())}`);
        await sleep(50);
      }
      let body = '';
      for (let i = 0; i < 50; i++) {
        body = await httpGet(local).catch((err: Error) => err.message);
        if (body === 'hello-from-pod\n') break;
        await sleep(100); // httpd may not listen yet
      }
      assert.equal(body, 'hello-from-pod\n');
      assert.equal(await httpGet(local), 'hello-from-pod\n', 'a second connection over the same session');
      await httpGet(refusedLocal).catch(() => undefined);
      const r = await pf.done;
      assert.match(r.stderr, /error forwarding port 8081 to pod .*Connection refused/);
    } finally {
      pf.child.kill('SIGTERM');
      await pf.done;
    }
  });
});
