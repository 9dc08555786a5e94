// berthd's RuntimeService for pods and containers, end to end on real runc, conmon, CNI plugins and
// namespaces: a pod sandbox on a test bridge (test/harness/pods.ts: no masquerade, no gateway), a
// container in it from an imported image, its status, list filters, logs in the kubelet's log
// directory, stop (exit code, reason), removal; idempotent stop/remove; then the same through crictl
// when it is built (scripts/install-cri-tools). Afterwards every pod and container is removed through
// the API and nothing of them is left.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import {
  ContainerEventType,
  ContainerState,
  PodSandboxState,
  RuntimeService,
} from '../../src/cri/gen/api_pb.js';
import { mountsUnder } from '../../src/mount/index.ts';
import { buildRunImage } from '../harness/berth-containers.ts';
import { podTestEnv } from '../harness/pods.ts';
import { needs, which } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = process.getuid?.() !== 0 ? 'needs root' : needs('runc', 'conmon', 'busybox', 'ip', 'nsenter');
const berthd = new URL('../../bin/berthd', import.meta.url).pathname;
const berth = new URL('../../bin/berth', import.meta.url).pathname;
const crictl =
  [process.env.BERTH_CRICTL, '/work/build/bin/crictl'].find((p) => p && existsSync(p)) ?? which('crictl');

interface Env {
  sock: string;
  root: string;
  state: string;
  image: string;
  logDir: string;
  prefix: string;
  client: Client<typeof RuntimeService>;
  restart(signal?: NodeJS.Signals, downMs?: number): Promise<void>;
}

async function start(t: TestContext): Promise<Env> {
  let proc: ChildProcess | undefined;
  let stderr = '';
  let client: Client<typeof RuntimeService> | undefined;
  // Registered first: after-hooks run in registration order; pods and containers must go (through
  // the API, while berthd runs) before the network and the temp dirs do.
  t.after(async () => {
    if (process.env.BERTH_TEST_DEBUG === '1') process.stderr.write(`berthd stderr:\n${stderr}\n`);
    if (client !== undefined && proc?.exitCode === null) {
      // Best effort, each call on its own: a failure here must not skip the network's cleanup after it.
      const report = (err: unknown): undefined => {
        process.stderr.write(`cleanup: ${String(err)}\n`);
      };
      const containers = await client.listContainers({}).catch(report);
      for (const c of containers?.containers ?? [])
        await client.removeContainer({ containerId: c.id }).catch(report);
      const pods = await client.listPodSandbox({}).catch(report);
      for (const p of pods?.items ?? []) await client.removePodSandbox({ podSandboxId: p.id }).catch(report);
    }
    if (proc !== undefined && proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc?.once('exit', r));
    }
  });
  const net = podTestEnv(t);
  const dir = tempDir(t, 'cri');
  const root = join(dir, 'root');
  const state = join(dir, 'state');
  const sock = join(dir, 'berth.sock');
  const logDir = join(dir, 'pod-logs');
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    `[cri]\ncni_conf_dir = ${JSON.stringify(net.confDir)}\ncni_bin_dirs = ${JSON.stringify(net.binDirs)}\n`,
  );
  const layout = await buildRunImage(join(dir, 'image'));
  const imported = spawnSync(
    berth,
    ['--config', config, '--root', root, '--state', state, 'image', 'import', layout],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(imported.status, 0, imported.stderr);
  const image = /Imported image: (\S+)/.exec(imported.stdout + imported.stderr)?.[1];
  assert.ok(image !== undefined, imported.stdout);
  const launch = async () => {
    stderr = '';
    proc = spawn(
      berthd,
      ['--config', config, '--root', root, '--state', state, '--listen', `unix://${sock}`],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const p = proc;
    p.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    for (let waited = 0; !stderr.includes('serving CRI'); waited += 20) {
      if (p.exitCode !== null || waited > 20_000) assert.fail(`berthd did not start: ${stderr}`);
      await sleep(20);
    }
  };
  await launch();
  /** Stop berthd (SIGTERM, or SIGKILL: a crash), start it again on the same dirs; containers live on. */
  const restart = async (signal: NodeJS.Signals = 'SIGTERM', downMs = 0) => {
    const p = proc!;
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill(signal);
    const code = await exited;
    if (signal === 'SIGTERM') assert.equal(code, 0, `berthd exit: ${stderr}`);
    await sleep(downMs);
    await launch();
  };
  client = createClient(
    RuntimeService,
    createGrpcTransport({ baseUrl: 'http://localhost', nodeOptions: { path: sock } }),
  );
  return { sock, root, state, image, logDir, prefix: net.prefix, client, restart };
}

function podConfig(env: Env, name: string) {
  return {
    metadata: {
      name,
      namespace: 'berth-test',
      uid: `uid-${name}-${Math.random().toString(36).slice(2, 8)}`,
      attempt: 0,
    },
    hostname: name,
    logDirectory: join(env.logDir, name),
    labels: { app: name },
  };
}

test('pods and containers through berthd: run, create, start, status, list, logs, stop, remove', {
  skip,
}, async (t) => {
  const env = await start(t);
  const { client } = env;
  const config = podConfig(env, 'web');
  const events: { id: string; type: ContainerEventType }[] = [];
  const listening = new AbortController();
  const stream = (async () => {
    try {
      for await (const e of client.getContainerEvents({}, { signal: listening.signal })) {
        events.push({ id: e.containerId, type: e.containerEventType });
      }
    } catch (err) {
      if (!listening.signal.aborted) throw err;
    }
  })();
  await sleep(100); // the subscription takes its baseline
  const { podSandboxId } = await client.runPodSandbox({ config });
  const pod = await client.podSandboxStatus({ podSandboxId });
  assert.equal(pod.status?.state, PodSandboxState.SANDBOX_READY);
  assert.ok(pod.status?.network?.ip.startsWith(env.prefix), `pod IP ${pod.status?.network?.ip}`);
  const script = 'echo out; echo err >&2; hostname; cat /proc/self/cgroup >/dev/null; sleep 30';
  const { containerId } = await client.createContainer({
    podSandboxId,
    config: {
      metadata: { name: 'main', attempt: 0 },
      image: { image: env.image },
      command: ['sh', '-c'],
      args: [script],
      envs: [{ key: 'FROM_CRI', value: 'yes' }],
      labels: { tier: 'front' },
      logPath: 'main/0.log',
    },
    sandboxConfig: config,
  });
  let status = (await client.containerStatus({ containerId })).status;
  assert.equal(status?.state, ContainerState.CONTAINER_CREATED);
  await client.startContainer({ containerId });
  status = (await client.containerStatus({ containerId, verbose: true })).status;
  assert.equal(status?.state, ContainerState.CONTAINER_RUNNING);
  assert.equal(status?.logPath, join(config.logDirectory, 'main/0.log'));
  const listed = await client.listContainers({ filter: { podSandboxId, labelSelector: { tier: 'front' } } });
  assert.deepEqual(
    listed.containers.map((c) => c.id),
    [containerId],
  );
  assert.equal(
    (await client.listContainers({ filter: { labelSelector: { tier: 'back' } } })).containers.length,
    0,
  );
  const stats = (await client.containerStats({ containerId })).stats;
  assert.ok((stats?.memory?.usageBytes?.value ?? 0n) > 0n, 'memory usage from the cgroup');
  assert.ok(stats?.cpu?.usageCoreNanoSeconds !== undefined, 'cpu usage from the cgroup');
  assert.ok((stats?.writableLayer?.inodesUsed?.value ?? -1n) >= 0n);
  assert.equal((await client.listContainerStats({ filter: { podSandboxId } })).stats.length, 1);
  const podStats = (await client.podSandboxStats({ podSandboxId })).stats;
  assert.equal(podStats?.linux?.containers.length, 1);
  assert.ok((podStats?.linux?.process?.processCount?.value ?? 0n) >= 1n);
  const exec = await client.execSync({
    containerId,
    cmd: ['sh', '-c', 'echo $FROM_CRI; hostname; exit 3'],
    timeout: 10n,
  });
  assert.equal(Buffer.from(exec.stdout).toString(), 'yes\nweb\n');
  assert.equal(exec.exitCode, 3);
  for (let i = 0; i < 100 && !readFileSync(status!.logPath, 'utf8').includes('web'); i++) await sleep(50);
  const log = readFileSync(status!.logPath, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' ').slice(1).join(' '))
    .sort();
  assert.deepEqual(log, ['stderr F err', 'stdout F out', 'stdout F web']);
  await client.stopContainer({ containerId, timeout: 1n });
  status = (await client.containerStatus({ containerId })).status;
  assert.equal(status?.state, ContainerState.CONTAINER_EXITED);
  assert.equal(status?.exitCode, 137);
  assert.equal(status?.reason, 'Error');
  await client.stopContainer({ containerId, timeout: 1n }); // stopping a stopped container succeeds
  await client.removeContainer({ containerId });
  await client.removeContainer({ containerId }); // removing what is gone succeeds
  for (let i = 0; i < 40 && !events.some((e) => e.type === ContainerEventType.CONTAINER_DELETED_EVENT); i++) {
    await sleep(100);
  }
  listening.abort();
  await stream;
  assert.deepEqual(
    events.filter((e) => e.id === containerId).map((e) => ContainerEventType[e.type]),
    [
      'CONTAINER_CREATED_EVENT',
      'CONTAINER_STARTED_EVENT',
      'CONTAINER_STOPPED_EVENT',
      'CONTAINER_DELETED_EVENT',
    ],
  );
  await client.stopPodSandbox({ podSandboxId });
  assert.equal(
    (await client.podSandboxStatus({ podSandboxId })).status?.state,
    PodSandboxState.SANDBOX_NOTREADY,
  );
  await client.removePodSandbox({ podSandboxId });
  await client.removePodSandbox({ podSandboxId });
  assert.equal((await client.listPodSandbox({})).items.length, 0);
  assert.deepEqual(mountsUnder(env.state), [], 'nothing mounted under the state dir');
});

test('berthd restarts (SIGTERM, SIGKILL) keep pods and containers running; exits while down are reported', {
  skip,
}, async (t) => {
  const env = await start(t);
  const { client } = env;
  const config = podConfig(env, 'keep');
  const { podSandboxId } = await client.runPodSandbox({ config });
  const { containerId } = await client.createContainer({
    podSandboxId,
    config: {
      metadata: { name: 'c', attempt: 0 },
      image: { image: env.image },
      command: ['sleep', '60'],
      logPath: 'c.log',
    },
    sandboxConfig: config,
  });
  await client.startContainer({ containerId });
  const pid = JSON.parse((await client.containerStatus({ containerId, verbose: true })).info.info ?? '{}')
    .pid as number;
  assert.ok(pid > 0);
  const { containerId: brief } = await client.createContainer({
    podSandboxId,
    config: {
      metadata: { name: 'brief', attempt: 0 },
      image: { image: env.image },
      command: ['sh', '-c', 'sleep 1; exit 7'],
      logPath: 'brief.log',
    },
    sandboxConfig: config,
  });
  await client.startContainer({ containerId: brief });
  await env.restart();
  process.kill(pid, 0); // still alive: a shutdown leaves containers to conmon
  // A crash (SIGKILL) while a container exits: its exit is found when berthd is back.
  await env.restart('SIGKILL', 2000);
  process.kill(pid, 0);
  const exitedWhileDown = (await client.containerStatus({ containerId: brief })).status;
  assert.equal(exitedWhileDown?.state, ContainerState.CONTAINER_EXITED);
  assert.equal(exitedWhileDown?.exitCode, 7);
  const status = (await client.containerStatus({ containerId })).status;
  assert.equal(status?.state, ContainerState.CONTAINER_RUNNING);
  assert.equal(
    (await client.podSandboxStatus({ podSandboxId })).status?.state,
    PodSandboxState.SANDBOX_READY,
  );
  await client.stopContainer({ containerId, timeout: 0n });
  assert.equal((await client.containerStatus({ containerId })).status?.exitCode, 137);
});

test('runtime handler crun, UpdateContainerResources, ReopenContainerLog', {
  skip: skip || needs('crun'),
}, async (t) => {
  const env = await start(t);
  const { client } = env;
  const config = podConfig(env, 'tuned');
  const { podSandboxId } = await client.runPodSandbox({ config, runtimeHandler: 'crun' });
  const { containerId } = await client.createContainer({
    podSandboxId,
    config: {
      metadata: { name: 'c', attempt: 0 },
      image: { image: env.image },
      command: ['sh', '-c', 'while true; do echo tick; sleep 0.2; done'],
      logPath: 'c.log',
      linux: { resources: { memoryLimitInBytes: 64n * 1024n * 1024n } },
    },
    sandboxConfig: config,
  });
  await client.startContainer({ containerId });
  const verbose = JSON.parse(
    (await client.containerStatus({ containerId, verbose: true })).info.info ?? '{}',
  ) as {
    runtimeType: string;
    runtimeSpec: { linux: { cgroupsPath: string } };
  };
  assert.equal(verbose.runtimeType, 'crun');
  const memFile = () =>
    readFileSync(
      join('/sys/fs/cgroup/memory', verbose.runtimeSpec.linux.cgroupsPath, 'memory.limit_in_bytes'),
      'utf8',
    ).trim();
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  if (!v2) assert.equal(memFile(), String(64 * 1024 * 1024));
  await client.updateContainerResources({ containerId, linux: { memoryLimitInBytes: 96n * 1024n * 1024n } });
  if (!v2) assert.equal(memFile(), String(96 * 1024 * 1024));
  // The kubelet rotates the log by renaming it, then asks for a new one.
  const logPath = join(config.logDirectory, 'c.log');
  for (let i = 0; i < 50 && !existsSync(logPath); i++) await sleep(50);
  const { renameSync } = await import('node:fs');
  renameSync(logPath, `${logPath}.1`);
  await client.reopenContainerLog({ containerId });
  for (let i = 0; i < 50 && !(existsSync(logPath) && readFileSync(logPath, 'utf8').includes('tick')); i++)
    await sleep(100);
  assert.match(readFileSync(logPath, 'utf8'), /stdout F tick/);
  await client.stopContainer({ containerId, timeout: 0n });
});

test('crictl runp, create, start, ps, logs, exec, inspect, stop, rm, stopp, rmp', {
  skip: skip || (crictl === undefined ? 'needs crictl v1.29 (scripts/install-cri-tools builds it)' : false),
}, async (t) => {
  const env = await start(t);
  const run = (...args: string[]) =>
    spawnSync(
      crictl!,
      ['--runtime-endpoint', `unix://${env.sock}`, '--image-endpoint', `unix://${env.sock}`, ...args],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
  const dir = tempDir(t, 'crictl');
  const podJson = join(dir, 'pod.json');
  const ctrJson = join(dir, 'ctr.json');
  writeFileSync(podJson, JSON.stringify(podConfig(env, 'cli')));
  writeFileSync(
    ctrJson,
    JSON.stringify({
      metadata: { name: 'c1' },
      image: { image: env.image },
      command: ['sh', '-c', 'echo hello-crictl; sleep 30'],
      log_path: 'c1.log',
    }),
  );
  const runp = run('runp', podJson);
  assert.equal(runp.status, 0, runp.stderr);
  const podId = runp.stdout.trim();
  const create = run('create', podId, ctrJson, podJson);
  assert.equal(create.status, 0, create.stderr);
  const ctrId = create.stdout.trim();
  assert.equal(run('start', ctrId).status, 0);
  assert.match(run('ps').stdout, /c1\s/);
  for (let i = 0; i < 100 && !run('logs', ctrId).stdout.includes('hello'); i++) await sleep(50);
  assert.equal(run('logs', ctrId).stdout, 'hello-crictl\n');
  const exec = run('exec', '-s', ctrId, 'cat', '/etc/hostname');
  assert.match(exec.stdout, /^cli$/m);
  const inspect = JSON.parse(run('inspect', ctrId).stdout) as { status: { state: string } };
  assert.equal(inspect.status.state, 'CONTAINER_RUNNING');
  assert.equal(run('stop', '-t', '1', ctrId).status, 0);
  assert.equal(run('rm', ctrId).status, 0);
  assert.equal(run('stopp', podId).status, 0);
  assert.equal(run('rmp', podId).status, 0);
  assert.equal(run('pods', '-q').stdout, '');
});
