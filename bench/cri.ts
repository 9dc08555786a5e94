// CRI lifecycle, measured: a pod and its container through crictl (runp, create, start, stop, rm,
// stopp, rmp), each step timed, against berthd and Debian's containerd (its CRI plugin) in one run
// on this machine with the same image and the same kind of network: both daemons up, their cycles
// alternating (one warm-up cycle each, not counted), so that the machine's load falls on both alike.
// Then memory, one runtime at a time: the daemon's idle RSS (after the cycles) and with --pods
// running pods (berthd + a conmon per container; containerd + a containerd-shim-runc-v2 per pod;
// the pods' own processes, and containerd's pause, not counted). Then, unless --skip-scale:
// --concurrent pods created at once (wall time) and `crictl ps -a` over --containers containers
// (created, not started, in pods of 50). Needs root, crictl v1.29 (scripts/install-cri-tools),
// ../shared/critest-images (bench/critest-images.ts builds the busybox and pause look-alikes from
// Debian packages: `apt-get download` is the only network use). Not part of the test suite.
//
//   node_modules/.bin/node bench/cri.ts                       berthd vs containerd, 20 runs
//   node_modules/.bin/node bench/cri.ts --runs 5 --skip-scale  the lifecycle only
//   node_modules/.bin/node bench/cri.ts --runtimes berthd      one of them
//
// Set up as bench/critest.ts does (and removed at the end, also on failure or Ctrl-C): the images on
// a docker-registry at 127.0.0.1 mirrored for registry.k8s.io through certs.d/hosts.toml; per
// runtime a bridge `berth-test-XXXX` with 10.254.N.1/24 and a conflist (bridge without isGateway and
// ipMasq, host-local): pods get no default route and nothing is forwarded or masqueraded. The image
// (and containerd's pause:3.6) is pulled before anything is timed. Each step's time is the wall time
// of its crictl process (crictl's own start is in every figure, for both runtimes alike; the
// `crictl version` row shows it). Afterwards: pods removed through crictl while the daemon serves,
// the daemon stopped, leftover processes naming the run's dirs killed by pid, mounts below them
// detached, the bridge deleted, the dirs removed.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { crictl as crictlFound } from '../test/harness/berthd.ts';
import { bridgePorts, linkExists } from '../test/harness/pods.ts';
import { startRegistry } from '../test/harness/registry.ts';
import { which } from '../test/harness/requirements.ts';
import { skopeoCopy } from '../test/harness/skopeo.ts';
import { buildCritestImages } from './critest-images.ts';
import {
  Cleanups,
  killMarked,
  log,
  mountsAtOrBelow,
  processes,
  pssKiB,
  sh,
  statusKiB,
  stopChild,
  trySh,
  unmountBelow,
} from './peers.ts';

const repoRoot = new URL('..', import.meta.url).pathname;
const runtimeKeys = ['berthd', 'containerd'] as const;
type RuntimeKey = (typeof runtimeKeys)[number];

const { values: args } = parseArgs({
  options: {
    runtimes: { type: 'string', default: runtimeKeys.join(',') },
    runs: { type: 'string', default: '20' },
    'berth-checkout': { type: 'string', default: repoRoot },
    'skip-scale': { type: 'boolean', default: false },
    concurrent: { type: 'string', default: '50' },
    containers: { type: 'string', default: '500' },
    pods: { type: 'string', default: '20' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'usage: node bench/cri.ts [--runtimes berthd,containerd] [--runs N] [--berth-checkout DIR] ' +
      '[--skip-scale] [--concurrent N] [--containers N] [--pods N]\n',
  );
  process.exit(0);
}
const selected = args.runtimes.split(',').filter(Boolean) as RuntimeKey[];
for (const r of selected) if (!runtimeKeys.includes(r)) throw new Error(`--runtimes: unknown ${r}`);
const runs = Number(args.runs);
const nConcurrent = Number(args.concurrent);
const nContainers = Number(args.containers);
const nPods = Number(args.pods);
for (const [k, v] of Object.entries({ runs, nConcurrent, nContainers, nPods })) {
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`${k}: a positive integer`);
}
const berthd = join(resolve(args['berth-checkout']), 'bin/berthd');
const image = 'registry.k8s.io/e2e-test-images/busybox:1.29-2';
const pauseImage = 'registry.k8s.io/pause:3.6';
const steps = ['runp', 'create', 'start', 'stop', 'rm', 'stopp', 'rmp'] as const;
type Step = (typeof steps)[number];

// ---- small helpers ----

const hex = (n: number): string =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0
    ? Number.NaN
    : s.length % 2 === 1
      ? (s[m] as number)
      : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** Steps undone together (last first) when a runtime's run ends; also queued on the global stack. */
class Stage {
  readonly #steps: { what: string; fn: () => unknown }[] = [];
  #done: Promise<void> | undefined;
  constructor(cleanups: Cleanups, what: string) {
    cleanups.push(what, () => this.run());
  }
  push(what: string, fn: () => unknown): void {
    this.#steps.push({ what, fn });
  }
  run(): Promise<void> {
    this.#done ??= (async () => {
      for (const { what, fn } of this.#steps.reverse()) {
        try {
          await fn();
        } catch (err) {
          log(`cleanup (${what}): ${(err as Error).message}`);
        }
      }
    })();
    return this.#done;
  }
}

const crictlBase = (sock: string): string[] => {
  const endpoint = `unix://${sock}`;
  return ['--runtime-endpoint', endpoint, '--image-endpoint', endpoint, '--timeout', '60s'];
};

function crictlSync(sock: string, argv: string[], timeoutMs = 120_000): ReturnType<typeof spawnSync> {
  return spawnSync(crictlFound as string, [...crictlBase(sock), ...argv], {
    encoding: 'utf8',
    timeout: timeoutMs,
  });
}

/** crictl, asynchronously: its stdout (trimmed) and its wall time; throws on failure. */
function crictlAsync(sock: string, argv: string[]): Promise<{ out: string; ms: number }> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(crictlFound as string, [...crictlBase(sock), ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.once('error', fail);
    child.once('close', (code) => {
      const ms = performance.now() - t0;
      if (code === 0) done({ out: out.trim(), ms });
      else fail(new Error(`crictl ${argv.join(' ')}: exit ${code}: ${err.trim().slice(-500)}`));
    });
  });
}

/** Runs `fn` over `items`, at most `limit` at once. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

// ---- network ----

interface TestNet {
  bridge: string;
  subnet: string;
  confDir: string;
}

/** A bridge of ours with the host's address on it and a conflist (bridge + host-local) naming it. */
function testNetwork(dir: string, stage: Stage): TestNet {
  const bridge = `berth-test-${hex(4)}`;
  const prefix = `10.254.${Math.floor(Math.random() * 256)}.`;
  const subnet = `${prefix}0/24`;
  const confDir = join(dir, 'net.d');
  mkdirSync(confDir, { recursive: true });
  stage.push(`delete bridge ${bridge}`, () => {
    for (const port of bridgePorts(bridge)) trySh('ip', ['link', 'del', 'dev', port]);
    if (linkExists(bridge)) sh('ip', ['link', 'del', 'dev', bridge]);
  });
  sh('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
  const mac = `02:be:${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}`;
  sh('ip', ['link', 'set', 'dev', bridge, 'address', mac, 'up']);
  sh('ip', ['addr', 'add', `${prefix}1/24`, 'dev', bridge]);
  const conflist = {
    cniVersion: '1.0.0',
    name: `berth-test-cri-${hex(4)}`,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: false,
        ipMasq: false,
        ipam: {
          type: 'host-local',
          dataDir: join(dir, 'cni-ipam'),
          // room for the concurrent pods and the memory pods together
          ranges: [[{ subnet, rangeStart: `${prefix}2`, rangeEnd: `${prefix}254` }]],
        },
      },
    ],
  };
  writeFileSync(join(confDir, '10-cri-bench.conflist'), `${JSON.stringify(conflist, null, 2)}\n`);
  return { bridge, subnet, confDir };
}

// ---- the runtimes ----

interface Daemon {
  sock: string;
  child: ChildProcess;
  logPath: string;
  version: string;
}

async function waitServing(d: Omit<Daemon, 'version'>, name: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (d.child.exitCode !== null || d.child.signalCode !== null) {
      throw new Error(`${name} exited: ${readFileSync(d.logPath, 'utf8').slice(-2000)}`);
    }
    if (existsSync(d.sock)) {
      const r = crictlSync(d.sock, ['version'], 10_000);
      if (r.status === 0) {
        const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(String(r.stdout))?.[1]?.trim();
        return `${field('RuntimeName') ?? name} ${field('RuntimeVersion') ?? '?'}`;
      }
    }
    if (Date.now() > deadline) throw new Error(`${name} did not serve on ${d.sock} within 60 s`);
    await sleep(200);
  }
}

function spawnDaemon(cmd: string, argv: string[], logPath: string): ChildProcess {
  const fd = openSync(logPath, 'a');
  const child = spawn(cmd, argv, { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  return child;
}

async function startBerthd(dir: string, net: TestNet, certsDir: string, stage: Stage): Promise<Daemon> {
  const root = join(dir, 'root');
  const state = join(dir, 'run');
  const sock = join(state, 'berth.sock');
  mkdirSync(state, { recursive: true });
  const q = JSON.stringify;
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    `root = ${q(root)}\nstate = ${q(state)}\n\n[registry]\nconfig_path = ${q(certsDir)}\n\n` +
      `[cri]\nlisten = ${q(sock)}\ncni_conf_dir = ${q(net.confDir)}\ncni_bin_dirs = ["/usr/lib/cni"]\n`,
  );
  const logPath = join(dir, 'berthd.log');
  const child = spawnDaemon(berthd, ['--config', config], logPath);
  stage.push('stop berthd', () => stopChild(child, 10_000));
  const version = await waitServing({ sock, child, logPath }, 'berthd');
  return { sock, child, logPath, version };
}

async function startContainerd(dir: string, net: TestNet, certsDir: string, stage: Stage): Promise<Daemon> {
  const root = join(dir, 'root');
  const state = join(dir, 'run');
  const sock = join(state, 'containerd.sock');
  mkdirSync(state, { recursive: true });
  const q = JSON.stringify;
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const config = join(dir, 'containerd.toml');
  writeFileSync(
    config,
    `version = 2
root = ${q(root)}
state = ${q(state)}
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = ${q(sock)}
[ttrpc]
  address = ${q(`${sock}.ttrpc`)}
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(join(root, 'opt'))}

[${cri}]
  sandbox_image = ${q(pauseImage)}
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [${cri}.cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${q(net.confDir)}
    max_conf_num = 1
  [${cri}.containerd]
    default_runtime_name = "runc"
    snapshotter = "overlayfs"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = ${q(join(state, 'runc'))}
  [${cri}.registry]
    config_path = ${q(certsDir)}
`,
  );
  const logPath = join(dir, 'containerd.log');
  const child = spawnDaemon('containerd', ['--config', config], logPath);
  stage.push('stop containerd', () => stopChild(child, 10_000));
  const version = await waitServing({ sock, child, logPath }, 'containerd');
  return { sock, child, logPath, version };
}

// ---- the measurements ----

interface Result {
  runtime: RuntimeKey;
  version: string;
  crictlVersionMs: number;
  steps: Record<Step, number[]>;
  cycles: number[];
  concurrentMs?: number;
  listMs?: number;
  listed?: number;
  mem?: { idleKiB: number; daemonKiB: number; monitorsKiB: number; monitors: number; pssKiB: number };
}

class Configs {
  #n = 0;
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(join(dir, 'cfg'), { recursive: true });
    mkdirSync(join(dir, 'logs'), { recursive: true });
  }
  pod(tag: string): string {
    const n = this.#n++;
    const file = join(this.dir, 'cfg', `pod-${n}.json`);
    const pod = {
      metadata: {
        name: `bench-${tag}-${n}`,
        namespace: 'cri-bench',
        uid: `cri-bench-${tag}-${n}-${hex(8)}`,
        attempt: 0,
      },
      log_directory: join(this.dir, 'logs', String(n)),
      linux: {},
    };
    writeFileSync(file, JSON.stringify(pod));
    return file;
  }
  container(name: string): string {
    const file = join(this.dir, 'cfg', `ctr-${name}.json`);
    if (!existsSync(file)) {
      const ctr = {
        metadata: { name },
        image: { image },
        command: ['sleep', '3600'],
        log_path: `${name}.log`,
        linux: {},
      };
      writeFileSync(file, JSON.stringify(ctr));
    }
    return file;
  }
}

/** One pod through its lifecycle; each step's ms. */
async function cycle(sock: string, cfg: Configs): Promise<Record<Step, number>> {
  const podCfg = cfg.pod('cycle');
  const ctrCfg = cfg.container('c');
  const ms = {} as Record<Step, number>;
  const runp = await crictlAsync(sock, ['runp', podCfg]);
  ms.runp = runp.ms;
  const create = await crictlAsync(sock, ['create', '--no-pull', runp.out, ctrCfg, podCfg]);
  ms.create = create.ms;
  ms.start = (await crictlAsync(sock, ['start', create.out])).ms;
  ms.stop = (await crictlAsync(sock, ['stop', create.out])).ms;
  ms.rm = (await crictlAsync(sock, ['rm', create.out])).ms;
  ms.stopp = (await crictlAsync(sock, ['stopp', runp.out])).ms;
  ms.rmp = (await crictlAsync(sock, ['rmp', runp.out])).ms;
  return ms;
}

async function removeAll(sock: string): Promise<void> {
  await crictlAsync(sock, ['rm', '--all', '--force']);
  await crictlAsync(sock, ['rmp', '--all', '--force']);
}

/** The daemon and its per-pod/per-container monitors: pids of processes naming `dir`. */
function monitorPids(runtime: RuntimeKey, dir: string): number[] {
  const name = runtime === 'berthd' ? 'conmon' : 'containerd-shim';
  return processes()
    .filter((p) => p.comm.startsWith(name) && p.cmdline.includes(dir))
    .map((p) => p.pid);
}

const safe = <T>(fn: () => T, fallback: T): T => {
  try {
    return fn();
  } catch {
    return fallback; // a process gone meanwhile
  }
};

interface Env {
  runtime: RuntimeKey;
  dir: string;
  d: Daemon;
  cfg: Configs;
  stage: Stage;
  bridge: string;
  result: Result;
}

/** A runtime's daemon on its own network, its images pulled, a warm-up cycle done. */
async function setUp(runtime: RuntimeKey, work: string, certsDir: string, cleanups: Cleanups): Promise<Env> {
  const dir = join(work, runtime);
  mkdirSync(dir, { recursive: true });
  const stage = new Stage(cleanups, `${runtime} run`);
  // Undone last first: the dir, mounts, stray processes, the network, then (pushed later, so run
  // earlier) the daemon's stop and, before it, its own removal of its pods while it still serves.
  stage.push(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
  stage.push(`unmount below ${dir}`, () => unmountBelow(dir));
  stage.push(`kill processes of ${dir}`, async () => {
    for (const p of await killMarked([dir]))
      log(`  killed leftover ${p.pid} ${p.comm}: ${p.cmdline.slice(0, 120)}`);
  });
  const net = testNetwork(dir, stage);
  const d =
    runtime === 'berthd'
      ? await startBerthd(dir, net, certsDir, stage)
      : await startContainerd(dir, net, certsDir, stage);
  stage.push(`${runtime}: remove pods and containers`, async () => {
    if (d.child.exitCode !== null || d.child.signalCode !== null) return;
    for (const argv of [
      ['rm', '--all', '--force'],
      ['rmp', '--all', '--force'],
    ]) {
      const r = crictlSync(d.sock, argv, 300_000);
      if (r.status !== 0) log(`  crictl ${argv.join(' ')}: ${String(r.stderr).trim().slice(-300)}`);
    }
  });
  log(`${runtime}: ${d.version} on ${d.sock}, network ${net.bridge} ${net.subnet}`);
  await crictlAsync(d.sock, ['pull', image]);
  if (runtime === 'containerd') await crictlAsync(d.sock, ['pull', pauseImage]);
  const cfg = new Configs(dir);
  await cycle(d.sock, cfg); // warm-up, not counted
  const result: Result = {
    runtime,
    version: d.version,
    crictlVersionMs: Number.NaN,
    steps: Object.fromEntries(steps.map((s) => [s, [] as number[]])) as unknown as Record<Step, number[]>,
    cycles: [],
  };
  return { runtime, dir, d, cfg, stage, bridge: net.bridge, result };
}

/** Memory: the daemon idle, then with nPods running pods of one container each. */
async function measureMemory(e: Env): Promise<void> {
  const { d, cfg } = e;
  const pid = d.child.pid as number;
  await sleep(1000);
  const idleKiB = statusKiB(pid, 'VmRSS');
  let started = 0;
  await pool(
    Array.from({ length: nPods }, (_, i) => i),
    4,
    async () => {
      const podCfg = cfg.pod('mem');
      const pod = (await crictlAsync(d.sock, ['runp', podCfg])).out;
      const ctr = (await crictlAsync(d.sock, ['create', '--no-pull', pod, cfg.container('c'), podCfg])).out;
      await crictlAsync(d.sock, ['start', ctr]);
      started++;
    },
  );
  await sleep(2000);
  const mons = monitorPids(e.runtime, e.dir);
  e.result.mem = {
    idleKiB,
    daemonKiB: statusKiB(pid, 'VmRSS'),
    monitorsKiB: mons.reduce((a, p) => a + safe(() => statusKiB(p, 'VmRSS'), 0), 0),
    monitors: mons.length,
    pssKiB: [pid, ...mons].reduce((a, p) => a + safe(() => pssKiB(p), 0), 0),
  };
  log(`${e.runtime}: ${started} running pods, ${mons.length} monitors`);
  await removeAll(d.sock);
}

/** nConcurrent pods at once (wall time); then nContainers created (not started), `crictl ps -a` timed. */
async function measureScale(e: Env): Promise<void> {
  const { d, cfg, result } = e;
  const podCfgs = Array.from({ length: nConcurrent }, () => cfg.pod('conc'));
  const t0 = performance.now();
  await Promise.all(podCfgs.map((f) => crictlAsync(d.sock, ['runp', f])));
  result.concurrentMs = performance.now() - t0;
  log(`${e.runtime}: ${nConcurrent} concurrent runp in ${result.concurrentMs.toFixed(0)} ms`);
  await removeAll(d.sock);

  const perPod = 50;
  const pods: { id: string; cfg: string }[] = [];
  for (let i = 0; i < Math.ceil(nContainers / perPod); i++) {
    const f = cfg.pod('list');
    pods.push({ id: (await crictlAsync(d.sock, ['runp', f])).out, cfg: f });
  }
  await pool(
    Array.from({ length: nContainers }, (_, i) => i),
    8,
    async (i) => {
      const p = pods[Math.floor(i / perPod)] as { id: string; cfg: string };
      await crictlAsync(d.sock, ['create', '--no-pull', p.id, cfg.container(`l${i % perPod}`), p.cfg]);
    },
  );
  result.listed = (await crictlAsync(d.sock, ['ps', '-a', '-q'])).out.split('\n').filter(Boolean).length;
  const lists: number[] = [];
  for (let i = 0; i < runs; i++) lists.push((await crictlAsync(d.sock, ['ps', '-a'])).ms);
  result.listMs = median(lists);
  log(`${e.runtime}: ps -a over ${result.listed} containers, median ${result.listMs.toFixed(1)} ms`);
  await removeAll(d.sock);
}

async function tearDown(e: Env): Promise<void> {
  await e.stage.run();
  const stray = processes().filter((p) => p.pid !== process.pid && p.cmdline.includes(e.dir));
  for (const p of stray) log(`${e.runtime}: left after teardown: process ${p.pid} ${p.comm}`);
  for (const m of mountsAtOrBelow(e.dir)) log(`${e.runtime}: left after teardown: mount ${m}`);
  if (linkExists(e.bridge)) log(`${e.runtime}: left after teardown: bridge ${e.bridge}`);
}

async function measureAll(work: string, certsDir: string, cleanups: Cleanups): Promise<Result[]> {
  const envs: Env[] = [];
  for (const runtime of selected) envs.push(await setUp(runtime, work, certsDir, cleanups));
  // the client's own floor, and the lifecycle: the runtimes alternate, so that the machine's load
  // over time falls on both alike; the other daemon sits idle meanwhile
  const versions = new Map<RuntimeKey, number[]>(envs.map((e) => [e.runtime, []]));
  for (let i = 0; i < 10; i++) {
    for (const e of envs) versions.get(e.runtime)?.push((await crictlAsync(e.d.sock, ['version'])).ms);
  }
  for (const e of envs) e.result.crictlVersionMs = median(versions.get(e.runtime) ?? []);
  for (let i = 0; i < runs && !cleanups.stopping; i++) {
    for (const e of i % 2 === 0 ? envs : [...envs].reverse()) {
      const ms = await cycle(e.d.sock, e.cfg);
      for (const s of steps) e.result.steps[s].push(ms[s]);
      e.result.cycles.push(steps.reduce((a, s) => a + ms[s], 0));
    }
  }
  for (const e of envs) log(`${e.runtime}: ${runs} cycles, median ${median(e.result.cycles).toFixed(0)} ms`);
  for (const e of envs) if (!cleanups.stopping) await measureMemory(e);
  if (!args['skip-scale']) for (const e of envs) if (!cleanups.stopping) await measureScale(e);
  for (const e of [...envs].reverse()) await tearDown(e);
  return envs.map((e) => e.result);
}

// ---- report ----

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [head, ...body] = rows;
  if (head === undefined) return '';
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

function render(results: Result[]): string {
  const b = results.find((r) => r.runtime === 'berthd');
  const c = results.find((r) => r.runtime === 'containerd');
  const f = (x: number | undefined, digits = 1) =>
    x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);
  const ratio = (x: number | undefined, y: number | undefined) =>
    x === undefined || y === undefined || !(y > 0) ? '–' : `${(x / y).toFixed(2)}×`;
  const mib = (kib: number | undefined) => (kib === undefined ? undefined : kib / 1024);
  const out: string[] = [];
  out.push(`# CRI lifecycle via crictl: ${results.map((r) => r.version).join(' vs ')}\n`);
  out.push(`median of ${runs} runs, ms (each a crictl process's wall time)\n`);
  const rows: string[][] = [['step', 'berthd', 'containerd', 'berth/containerd']];
  for (const s of steps) {
    const x = b === undefined ? undefined : median(b.steps[s]);
    const y = c === undefined ? undefined : median(c.steps[s]);
    rows.push([s, f(x), f(y), ratio(x, y)]);
  }
  const bc = b === undefined ? undefined : median(b.cycles);
  const cc = c === undefined ? undefined : median(c.cycles);
  rows.push(['full cycle (median of sums)', f(bc), f(cc), ratio(bc, cc)]);
  rows.push(['crictl version (client floor)', f(b?.crictlVersionMs), f(c?.crictlVersionMs), '']);
  out.push(table(rows));
  const r = bc !== undefined && cc !== undefined ? bc / cc : undefined;
  out.push(
    `\ntarget: full cycle ≤ 0.8× containerd${cc === undefined ? '' : ` (≤ ${(0.8 * cc).toFixed(0)} ms here)`}: ` +
      (r === undefined ? 'not measured' : `${r <= 0.8 ? 'met' : 'not met'} (${r.toFixed(2)}×)`),
  );
  if (!args['skip-scale']) {
    out.push('\n## Scale\n');
    out.push(
      table([
        ['measure', 'berthd', 'containerd', 'berth/containerd'],
        [
          `${nConcurrent} × runp at once, wall ms`,
          f(b?.concurrentMs, 0),
          f(c?.concurrentMs, 0),
          ratio(b?.concurrentMs, c?.concurrentMs),
        ],
        [
          `crictl ps -a, ${b?.listed ?? c?.listed ?? nContainers} containers, median ms`,
          f(b?.listMs),
          f(c?.listMs),
          ratio(b?.listMs, c?.listMs),
        ],
      ]),
    );
  }
  out.push(`\n## Memory (RSS, MiB), ${nPods} running pods of one container (sleep)\n`);
  const tot = (x: Result | undefined) =>
    x?.mem === undefined ? undefined : x.mem.daemonKiB + x.mem.monitorsKiB;
  const perPod = (x: Result | undefined) => {
    const t = tot(x);
    return t === undefined || x?.mem === undefined ? undefined : (t - x.mem.idleKiB) / nPods;
  };
  out.push(
    table([
      ['measure', 'berthd', 'containerd', 'berth/containerd'],
      [
        'daemon idle',
        f(mib(b?.mem?.idleKiB)),
        f(mib(c?.mem?.idleKiB)),
        ratio(b?.mem?.idleKiB, c?.mem?.idleKiB),
      ],
      [
        `daemon with ${nPods} pods`,
        f(mib(b?.mem?.daemonKiB)),
        f(mib(c?.mem?.daemonKiB)),
        ratio(b?.mem?.daemonKiB, c?.mem?.daemonKiB),
      ],
      [
        'monitors (conmon / shim): count, MiB',
        `${b?.mem?.monitors ?? '–'}, ${f(mib(b?.mem?.monitorsKiB))}`,
        `${c?.mem?.monitors ?? '–'}, ${f(mib(c?.mem?.monitorsKiB))}`,
        ratio(b?.mem?.monitorsKiB, c?.mem?.monitorsKiB),
      ],
      ['daemon + monitors', f(mib(tot(b))), f(mib(tot(c))), ratio(tot(b), tot(c))],
      ['added per running pod', f(mib(perPod(b)), 2), f(mib(perPod(c)), 2), ratio(perPod(b), perPod(c))],
      [
        'daemon + monitors, PSS',
        f(mib(b?.mem?.pssKiB)),
        f(mib(c?.mem?.pssKiB)),
        ratio(b?.mem?.pssKiB, c?.mem?.pssKiB),
      ],
    ]),
  );
  const tb = tot(b);
  const tc = tot(c);
  const mr = tb !== undefined && tc !== undefined ? tb / tc : undefined;
  out.push(
    `\ntarget: berthd + monitors with ${nPods} pods ≤ 0.5× containerd + shims: ` +
      (mr === undefined ? 'not measured' : `${mr <= 0.5 ? 'met' : 'not met'} (${mr.toFixed(2)}×)`),
  );
  return `${out.join('\n')}\n`;
}

// ---- main ----

const cleanups = new Cleanups();
process.exitCode = 0;
try {
  if (process.getuid?.() !== 0) throw new Error('needs root (containers, network namespaces)');
  if (crictlFound === undefined) throw new Error('needs crictl v1.29 (scripts/install-cri-tools builds it)');
  const tools = ['docker-registry', 'skopeo', 'runc', 'conmon', 'ip', 'cc', 'dpkg-deb'];
  if (selected.includes('containerd')) tools.push('containerd', 'containerd-shim-runc-v2');
  const missing = tools.filter((t) => which(t) === undefined);
  if (missing.length > 0) throw new Error(`missing: ${missing.join(', ')} (apt-get install them)`);
  if (selected.includes('berthd') && !existsSync(berthd)) throw new Error(`no berthd at ${berthd}`);
  const work = mkdtempSync(join(tmpdir(), 'berth-cri-bench-'));
  cleanups.push(`remove ${work}`, async () => {
    await killMarked([work]);
    unmountBelow(work);
    rmSync(work, { recursive: true, force: true, maxRetries: 3 });
  });
  const forwardBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();

  log(`images: building the busybox and pause look-alikes in ${work}/images`);
  const built = await buildCritestImages(join(work, 'images'), log);
  const hooks: (() => unknown)[] = [];
  cleanups.push('stop the registry', async () => {
    for (const fn of hooks) await fn();
  });
  const registry = await startRegistry({ after: (fn: () => unknown) => hooks.push(fn) }, { auth: 'none' });
  for (const t of built.tags.filter(
    (x) => `${x.upstream}/${x.repo}:${x.tag}` === image || x.repo === 'pause',
  )) {
    await skopeoCopy(`oci:${built.layoutDir}:${t.ref}`, `docker://${registry.host}/${t.repo}:${t.tag}`, {
      preserveDigests: true,
    });
  }
  const certsDir = join(work, 'certs.d');
  mkdirSync(join(certsDir, 'registry.k8s.io'), { recursive: true });
  writeFileSync(
    join(certsDir, 'registry.k8s.io', 'hosts.toml'),
    `server = "https://registry.k8s.io"\n\n[host."http://${registry.host}"]\n  capabilities = ["pull", "resolve"]\n`,
  );

  const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  log(`load average before: ${loadavg()}`);
  const results = await measureAll(work, certsDir, cleanups);
  log(`load average after: ${loadavg()}`);
  const forwardAfter = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  if (forwardAfter !== forwardBefore)
    log(`warning: net.ipv4.ip_forward went ${forwardBefore} → ${forwardAfter}`);
  process.stdout.write(render(results));
  const first = (cmd: string, a: string[]) => (trySh(cmd, a) ?? '?').split('\n')[0];
  log(
    `${first(crictlFound, ['--version'])}; ${first('runc', ['--version'])}; ${first('conmon', ['--version'])}; ` +
      `kernel ${first('uname', ['-r'])}; ${(readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm) ?? []).length} CPUs`,
  );
} catch (err) {
  log(`cri bench: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanups.run();
}
