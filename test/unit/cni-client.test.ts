// The CNI client against fake plugins (small shell scripts in a temp bin dir): the CNI_* environment,
// the request configuration on stdin (prevResult chaining, runtimeConfig only for declared
// capabilities, capabilities removed), DEL in reverse with the final ADD result, CHECK rules, error
// JSON to typed errors, deadlines and aborts (the plugin is killed), DEL retried, VERSION and STATUS.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import {
  type Attachment,
  CniClient,
  CniConfigError,
  CniPluginError,
  CniUnavailableError,
  delWithRetry,
  type NetworkConfigList,
  parseNetworkConfig,
} from '../../src/cni/index.ts';
import { CanceledError, DeadlineExceededError, NotFoundError } from '../../src/errdefs/index.ts';
import { tempDir } from '../harness/tmp.ts';

const result1 = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eth0', sandbox: '/ns' }],
  ips: [{ address: '10.9.0.2/24', interface: 0 }],
};
const result2 = { ...result1, routes: [{ dst: '0.0.0.0/0', gw: '10.9.0.1' }], extra: 'kept' };

/** Writes a plugin that logs its env and stdin to `<log>/<n>-<type>` and then runs `body`. */
function plugin(bin: string, log: string, type: string, body: string): void {
  const path = join(bin, type);
  writeFileSync(
    path,
    `#!/bin/sh
n=$(ls ${log} | wc -l)
f=${log}/$(printf %03d $n)-${type}
env | grep '^CNI_' | sort > $f.env
cat > $f.json
${body}
`,
  );
  chmodSync(path, 0o755);
}

function setup(t: TestContext) {
  const dir = tempDir(t, 'cni-client');
  const bin = join(dir, 'bin');
  const log = join(dir, 'log');
  for (const d of [bin, log]) mkdirSync(d);
  const calls = () =>
    readdirSync(log)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => ({
        plugin: f.slice(4, -5),
        stdin: JSON.parse(readFileSync(join(log, f), 'utf8') || 'null') as Record<string, unknown>,
        env: Object.fromEntries(
          readFileSync(join(log, f.replace(/json$/, 'env')), 'utf8')
            .trim()
            .split('\n')
            .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
        ),
      }));
  return {
    dir,
    bin,
    log,
    calls,
    client: new CniClient({ binDirs: [join(dir, 'none'), bin], pluginTimeoutMs: 2000 }),
  };
}

const att: Attachment = {
  containerId: 'pod1',
  netns: '/proc/self/ns/net',
  ifName: 'eth0',
  args: { IgnoreUnknown: '1', K8S_POD_NAME: 'web' },
  capabilityArgs: {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    bandwidth: { x: 1 },
  },
};

function net(plugins: object[], extra: object = {}): NetworkConfigList {
  return parseNetworkConfig(JSON.stringify({ cniVersion: '1.0.0', name: 'testnet', plugins, ...extra }), {
    source: 'mem',
    list: true,
  });
}

test('ADD chains prevResult, injects runtimeConfig for declared capabilities only; DEL reverses', async (t) => {
  const { bin, log, calls, client } = setup(t);
  plugin(bin, log, 'first', `echo '${JSON.stringify(result1)}'`);
  plugin(bin, log, 'second', `[ "$CNI_COMMAND" = ADD ] && echo '${JSON.stringify(result2)}'; true`);
  const network = net([
    { type: 'first', custom: { a: 1 }, runtimeConfig: { forged: true } },
    { type: 'second', capabilities: { portMappings: true, mac: true } },
  ]);
  const rec = await client.add(network, att);
  assert.deepEqual(rec.result, result2, 'the final result is the last plugin output, unknown keys kept');
  assert.deepEqual(rec.parsed.routes, [{ dst: '0.0.0.0/0', gw: '10.9.0.1' }]);
  const [a, b] = calls();
  assert.equal(a!.plugin, 'first');
  assert.deepEqual(a!.stdin, { type: 'first', custom: { a: 1 }, cniVersion: '1.0.0', name: 'testnet' });
  assert.deepEqual(a!.env, {
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web',
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'pod1',
    CNI_IFNAME: 'eth0',
    CNI_NETNS: '/proc/self/ns/net',
    CNI_PATH: `${join(bin, '..', 'none')}:${bin}`,
  });
  assert.deepEqual(b!.stdin, {
    type: 'second',
    cniVersion: '1.0.0',
    name: 'testnet',
    runtimeConfig: { portMappings: att.capabilityArgs!.portMappings },
    prevResult: result1,
  });
  await client.del(rec);
  const del = calls().slice(2);
  assert.deepEqual(
    del.map((c) => [c.plugin, c.env.CNI_COMMAND]),
    [
      ['second', 'DEL'],
      ['first', 'DEL'],
    ],
  );
  for (const c of del) assert.deepEqual(c.stdin.prevResult, result2, 'DEL gets the final ADD result');
});

test('CHECK runs in order with the final result; skipped with disableCheck or before 0.4.0', async (t) => {
  const { bin, log, calls, client } = setup(t);
  plugin(bin, log, 'p', `echo '${JSON.stringify(result1)}'`);
  const rec = await client.add(net([{ type: 'p' }]), att);
  await client.check(rec);
  assert.equal(calls()[1]!.env.CNI_COMMAND, 'CHECK');
  assert.deepEqual(calls()[1]!.stdin.prevResult, result1);
  await client.check({ ...rec, network: net([{ type: 'p' }], { disableCheck: true }) });
  await client.check({ ...rec, network: { ...rec.network, cniVersion: '0.3.1' } });
  assert.equal(calls().length, 2, 'no more CHECK calls');
  // Before 0.4.0 DEL gets no prevResult.
  await client.del({ ...rec, network: { ...rec.network, cniVersion: '0.3.1' } });
  assert.equal(calls()[2]!.stdin.prevResult, undefined);
});

test('a plugin error JSON becomes a typed error carrying code, msg and details', async (t) => {
  const { bin, log, client } = setup(t);
  plugin(
    bin,
    log,
    'bad',
    `echo '{"cniVersion":"1.0.0","code":7,"msg":"Invalid Configuration","details":"too small"}'; echo oops >&2; exit 1`,
  );
  plugin(bin, log, 'busy', `echo '{"code":11,"msg":"try again"}'; exit 1`);
  plugin(bin, log, 'crash', 'echo panic: boom >&2; exit 2');
  plugin(bin, log, 'garbage', 'echo not json');
  await assert.rejects(client.add(net([{ type: 'bad' }]), att), (err: unknown) => {
    assert.ok(err instanceof CniConfigError);
    assert.deepEqual(err.cni, {
      plugin: 'bad',
      command: 'ADD',
      code: 7,
      msg: 'Invalid Configuration',
      details: 'too small',
      stderr: 'oops',
    });
    assert.equal(err.message, 'cni plugin bad ADD failed (code 7): Invalid Configuration: too small');
    return true;
  });
  await assert.rejects(client.add(net([{ type: 'busy' }]), att), CniUnavailableError);
  await assert.rejects(client.add(net([{ type: 'crash' }]), att), (err: unknown) => {
    assert.ok(err instanceof CniPluginError);
    assert.equal(err.cni.code, undefined);
    assert.match(err.message, /exit status 2: panic: boom/);
    return true;
  });
  await assert.rejects(
    client.add(net([{ type: 'garbage' }]), att),
    /garbage ADD failed: printed no valid result/,
  );
  await assert.rejects(client.add(net([{ type: 'missing' }]), att), NotFoundError);
});

test('a hung plugin is killed at its deadline or on abort, and reaped', async (t) => {
  const { bin, dir } = setup(t);
  // Not through plugin(): the pid is written first thing, so even a loaded machine records it in time.
  const pidFile = join(dir, 'pid');
  writeFileSync(
    join(bin, 'hang'),
    `#!/bin/sh\necho $$ > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile}\nexec sleep 30\n`,
  );
  chmodSync(join(bin, 'hang'), 0o755);
  const gone = (pid: number) =>
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the plugin process is gone');
  const client = new CniClient({ binDirs: [bin], pluginTimeoutMs: 1500 });
  const started = Date.now();
  await assert.rejects(client.add(net([{ type: 'hang' }]), att), DeadlineExceededError);
  assert.ok(Date.now() - started < 10_000);
  gone(Number(readFileSync(pidFile, 'utf8')));
  rmSync(pidFile);
  const slow = new CniClient({ binDirs: [bin], pluginTimeoutMs: 60_000 });
  const ac = new AbortController();
  const abortOnceRunning = setInterval(() => {
    if (existsSync(pidFile)) ac.abort(new Error('stop'));
  }, 20);
  t.after(() => clearInterval(abortOnceRunning));
  await assert.rejects(slow.add(net([{ type: 'hang' }]), att, { signal: ac.signal }), CanceledError);
  gone(Number(readFileSync(pidFile, 'utf8')));
  await assert.rejects(
    slow.add(net([{ type: 'hang' }]), att, { signal: ac.signal }),
    /canceled before it started/,
  );
});

test('DEL is retried on cleanup until it succeeds; code 3 counts as done', async (t) => {
  const { bin, log, dir, client } = setup(t);
  // Fails twice, then succeeds: the count lives in a file.
  plugin(
    bin,
    log,
    'flaky',
    `c=$(cat ${dir}/count 2>/dev/null || echo 0); echo $((c+1)) > ${dir}/count; [ $c -ge 2 ] || { echo '{"code":11,"msg":"locked"}'; exit 1; }`,
  );
  plugin(bin, log, 'gone', `echo '{"code":3,"msg":"no such container"}'; exit 1`);
  const rec = { network: net([{ type: 'gone' }, { type: 'flaky' }]), attachment: att };
  const retried: number[] = [];
  await delWithRetry(client, rec, { backoffMs: 10, onRetry: (_e, n) => retried.push(n) });
  assert.deepEqual(retried, [1, 2]);
  writeFileSync(join(dir, 'count'), '-100');
  await assert.rejects(delWithRetry(client, rec, { attempts: 2, backoffMs: 10 }), CniUnavailableError);
});

test('DEL of a namespace that is gone passes an empty CNI_NETNS', async (t) => {
  const { bin, log, calls, client } = setup(t);
  plugin(bin, log, 'p', 'true');
  await client.del({ network: net([{ type: 'p' }]), attachment: { ...att, netns: '/nonexistent/ns/net' } });
  assert.equal(calls()[0]!.env.CNI_NETNS, '');
});

test('VERSION and STATUS', async (t) => {
  const { bin, log, calls, client } = setup(t);
  plugin(bin, log, 'v', `echo '{"cniVersion":"1.1.0","supportedVersions":["1.0.0","1.1.0"]}'`);
  plugin(
    bin,
    log,
    'down',
    `[ "$CNI_COMMAND" = STATUS ] && { echo '{"code":50,"msg":"daemon down"}'; exit 1; }; true`,
  );
  assert.deepEqual(await client.version('v', { cniVersion: '1.1.0' }), {
    cniVersion: '1.1.0',
    supportedVersions: ['1.0.0', '1.1.0'],
  });
  assert.deepEqual(calls()[0]!.stdin, { cniVersion: '1.1.0' });
  assert.equal(calls()[0]!.env.CNI_CONTAINERID, undefined);
  // 1.0.0 has no STATUS: presence of the binaries is all that is checked.
  assert.deepEqual(await client.status(net([{ type: 'down' }])), { ready: true });
  assert.equal(calls().length, 1);
  const v11 = net([{ type: 'v' }, { type: 'down', capabilities: { portMappings: true } }], {
    cniVersion: '1.1.0',
  });
  const st = await client.status(v11);
  assert.equal(st.ready, false);
  assert.match(st.reason!, /down STATUS failed \(code 50\): daemon down/);
  const statusCall = calls().at(-1)!;
  assert.equal(statusCall.stdin.runtimeConfig, undefined);
  assert.equal(statusCall.stdin.capabilities, undefined);
  assert.deepEqual(await client.status(net([{ type: 'nowhere' }])), {
    ready: false,
    reason: `cni plugin "nowhere": not found in ${client.binDirs.join(', ')}`,
  });
});

test('attachment parameters are checked before any plugin runs', async (t) => {
  const { bin, log, calls, client } = setup(t);
  plugin(bin, log, 'p', `echo '${JSON.stringify(result1)}'`);
  const n = net([{ type: 'p' }]);
  await assert.rejects(client.add(n, { ...att, containerId: '-x' }), /CNI_CONTAINERID/);
  await assert.rejects(client.add(n, { ...att, ifName: 'a-very-long-ifname' }), /CNI_IFNAME/);
  await assert.rejects(client.add(n, { ...att, args: { K8S_POD_NAME: 'a;EVIL=1' } }), /CNI_ARGS/);
  assert.equal(calls().length, 0);
});
