// CRI conformance, measured: the upstream suite critest (cri-tools v1.29.0) against berthd, then the
// same critest against Debian's containerd (its CRI plugin), on this machine, with the same images,
// the same kind of network and the same flags, so that the two counts can be compared. Needs root,
// critest/crictl v1.29 (scripts/install-cri-tools), ../shared/critest-images (the look-alike recipe)
// and Debian's package archive (apt-get download); not part of the test suite. ~2–5 minutes here.
//
//   node_modules/.bin/node bench/critest.ts                          berthd, then containerd
//   node_modules/.bin/node bench/critest.ts --runtimes berthd        one of them
//   node_modules/.bin/node bench/critest.ts --focus 'Security Context' --skip 'HostIpc'
//   node_modules/.bin/node bench/critest.ts --berth-checkout DIR     the berthd of another checkout
//   node_modules/.bin/node bench/critest.ts --runtime-handler crun   a runtime handler (RuntimeClass)
//   node_modules/.bin/node bench/critest.ts --berth-runtime crun     berthd's `runtime.default`
//   node_modules/.bin/node bench/critest.ts --parallel 2             critest -parallel 2 (ginkgo CLI)
//   node_modules/.bin/node bench/critest.ts --render OUTDIR          the tables again from a run's reports
//
// What it sets up (all on temp dirs and removed at the end, also on failure or Ctrl-C):
// - images: the look-alikes of everything critest pulls (bench/critest-images.ts, built with
//   src/imagebuild from Debian packages), pushed to a docker-registry on 127.0.0.1 under critest's
//   paths; certs.d/{gcr.io,registry.k8s.io,docker.io}/hosts.toml mirror those hosts to it (one
//   directory, read by berthd's `registry.config_path` and containerd's `config_path` alike). The
//   digest spec pulls a manifest no rebuild reproduces and is skipped for both runtimes.
// - network, one per runtime: a bridge `berth-test-XXXX` made here (fixed MAC, as
//   test/harness/pods.ts does), a conflist with bridge (no isGateway, no ipMasq, host-local on a
//   random 10.254.N.0/24) and portmap. The bridge gets 10.254.N.1/24 itself, so that the host can
//   reach pod IPs (critest GETs podIP:80) without the plugin's isGateway, which would turn on
//   ip_forward: pods get no default route, nothing is forwarded or masqueraded out. portmap's own
//   rules (DNAT of host ports 12000–12003, SNAT of 127.0.0.1 → pod for hostPort on localhost) stay on
//   this machine; leftovers of ours are removed from the nat table at the end.
// - berthd: bin/berthd --config FILE (root, state, cri.listen, cri.cni_conf_dir, registry.config_path
//   on temp dirs, the socket a temp path). containerd: --config FILE (its own root, state, sockets,
//   CRI plugin with restrict_oom_score_adj, netns under its state dir, the same CNI bin dir and
//   mirrors, sandbox image registry.k8s.io/pause:3.6 from the mirror).
// - critest: `--runtime-endpoint/--image-endpoint unix://SOCK --ginkgo.v --ginkgo.json-report`,
//   serial (`-parallel 1` must not be passed: Ginkgo rejects an explicit -parallel in a serial run
//   and no spec runs), each RPC limited by --rpc-timeout, the suite by --suite-timeout; TMPDIR is a
//   temp dir of ours (critest's host paths and log dirs go there). With --parallel N (N > 1) it
//   passes `-parallel=N`: critest then re-runs itself through `ginkgo --nodes=N`, the Ginkgo CLI
//   looked up in PATH (critest's own directory first; build it from cri-tools' vendor/ with
//   `go build -mod=vendor -o DIR/ginkgo ./vendor/github.com/onsi/ginkgo/v2/ginkgo`), which merges the
//   processes' JSON reports. --berth-runtime writes berthd's `[runtime] default` (runc or crun).
// Afterwards: pods and containers removed through crictl while the daemon still runs, the daemon
// stopped, every process still naming the run's directories killed by pid (children first), mounts
// below them (rootfs, shm, netns pins) detached, the bridge and its veths deleted.
//
// Output: the Ginkgo summary of each runtime (Ran N of M, Passed, Failed, Pending, Skipped), its
// failed specs grouped by cause with the first error line of each, and the specs whose result
// differs between the runtimes; logs and JSON reports are kept in --out (default
// /tmp/berth-critest-<time>/), the only thing left behind.

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
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { crictl as crictlFound, critest as critestFound } from '../test/harness/berthd.ts';
import { bridgePorts, linkExists } from '../test/harness/pods.ts';
import { startRegistry } from '../test/harness/registry.ts';
import { which } from '../test/harness/requirements.ts';
import { skopeoCopy } from '../test/harness/skopeo.ts';
import { buildCritestImages } from './critest-images.ts';
import {
  Cleanups,
  exited,
  killMarked,
  log,
  mountsAtOrBelow,
  processes,
  sh,
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
    'berth-checkout': { type: 'string', default: repoRoot },
    focus: { type: 'string', multiple: true, default: [] },
    skip: { type: 'string', multiple: true, default: [] },
    out: { type: 'string' },
    'rpc-timeout': { type: 'string', default: '60' },
    'suite-timeout': { type: 'string', default: '20' },
    'runtime-handler': { type: 'string' },
    'berth-runtime': { type: 'string' },
    parallel: { type: 'string' },
    render: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'usage: node bench/critest.ts [--runtimes berthd,containerd] [--berth-checkout DIR] [--focus RE]… ' +
      '[--skip RE]… [--out DIR] [--rpc-timeout S] [--suite-timeout MIN] [--runtime-handler NAME]\n' +
      '       [--berth-runtime runc|crun] [--parallel N]\n' +
      '       node bench/critest.ts --render OUTDIR   (the tables again, from the reports of an earlier run)\n',
  );
  process.exit(0);
}
const selected = args.runtimes.split(',').filter(Boolean) as RuntimeKey[];
for (const r of selected) if (!runtimeKeys.includes(r)) throw new Error(`--runtimes: unknown ${r}`);
const rpcTimeoutS = Number(args['rpc-timeout']);
const suiteTimeoutMin = Number(args['suite-timeout']);
if (!(rpcTimeoutS > 0 && suiteTimeoutMin > 0)) throw new Error('--rpc-timeout and --suite-timeout: > 0');
/** berthd's `runtime.default` (its config's default is runc); unset: not written, berthd's default. */
const berthRuntime = args['berth-runtime'];
if (berthRuntime !== undefined && !['runc', 'crun'].includes(berthRuntime)) {
  throw new Error('--berth-runtime: runc or crun');
}
/**
 * critest's `-parallel N` (N Ginkgo processes, through the `ginkgo` CLI found in PATH); unset or 1:
 * serial, with no -parallel flag at all (an explicit `-parallel 1` makes Ginkgo run no spec).
 */
const parallel = args.parallel === undefined ? 1 : Number(args.parallel);
if (!(Number.isInteger(parallel) && parallel >= 1)) throw new Error('--parallel: an integer >= 1');
const berthd = join(resolve(args['berth-checkout']), 'bin/berthd');
/** Always skipped: its manifest digest cannot be rebuilt (see bench/critest-images.ts). */
const digestSpec = 'public image with digest';
/** critest's fixed host ports (pkg/validate/consts.go): the port-mapping specs need them free. */
const hostPorts = [12000, 12001, 12002, 12003];

const stamp = new Date().toISOString().replace(/[:T]/g, '-').replace(/\..*/, '');
const outDir = resolve(args.out ?? join(tmpdir(), `berth-critest-${stamp}`));

// ---- small helpers ----

const hex = (n: number): string =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((done) => {
    server.once('error', () => done(false));
    server.listen(port, '0.0.0.0', () => server.close(() => done(true)));
  });
}

function fmtDuration(ms: number): string {
  if (Number.isNaN(ms)) return '?';
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

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

function crictl(sock: string, argv: string[], timeoutMs = 120_000): ReturnType<typeof spawnSync> {
  const endpoint = `unix://${sock}`;
  return spawnSync(
    crictlFound as string,
    ['--runtime-endpoint', endpoint, '--image-endpoint', endpoint, '--timeout', '60s', ...argv],
    { encoding: 'utf8', timeout: timeoutMs },
  );
}

// ---- network ----

interface TestNet {
  bridge: string;
  subnet: string;
  prefix: string;
  confDir: string;
}

/** A bridge of ours with the host's address on it and a conflist (bridge + portmap) naming it. */
function testNetwork(dir: string, stage: Stage): TestNet {
  const bridge = `berth-test-${hex(4)}`;
  const octet = Math.floor(Math.random() * 256);
  const prefix = `10.254.${octet}.`;
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
    name: `berth-test-critest-${hex(4)}`,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: false,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: join(dir, 'cni-ipam'),
          ranges: [[{ subnet, rangeStart: `${prefix}2`, rangeEnd: `${prefix}254` }]],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  writeFileSync(join(confDir, '10-critest.conflist'), `${JSON.stringify(conflist, null, 2)}\n`);
  return { bridge, subnet, prefix, confDir };
}

/** `iptables -t nat -S` as lines. */
function natRules(): string[] {
  return (trySh('iptables', ['-t', 'nat', '-S']) ?? '').split('\n').filter(Boolean);
}

/** An `iptables -S` line as argv: words, with "quoted strings" (comments) kept whole. */
function ruleWords(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) =>
    m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] as string),
  );
}

/**
 * Removes what portmap left in the nat table for our pods (a DEL that never ran): per-pod CNI-DN-/
 * CNI-SN- chains that point at our subnets, and the shared CNI-HOSTPORT-* chains when they did not
 * exist before this run and no pod of anyone uses them any more.
 */
function cleanNat(before: Set<string>, prefixes: string[]): void {
  const ours = (line: string) => prefixes.some((p) => line.includes(p));
  const del = (line: string) => trySh('iptables', ['-t', 'nat', ...ruleWords(line.replace(/^-A /, '-D '))]);
  let rules = natRules();
  const podChains = new Set(
    rules
      .filter((l) => /^-A CNI-(DN|SN)-\S+ /.test(l) && ours(l))
      .map((l) => l.split(' ')[1] as string)
      .filter((c) => !before.has(`-N ${c}`)),
  );
  for (const chain of podChains) {
    for (const l of rules.filter((r) => r.startsWith('-A ') && r.includes(`-j ${chain}`))) del(l);
    trySh('iptables', ['-t', 'nat', '-F', chain]);
    trySh('iptables', ['-t', 'nat', '-X', chain]);
  }
  rules = natRules();
  const shared = ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ'];
  const added = shared.filter((c) => rules.includes(`-N ${c}`) && !before.has(`-N ${c}`));
  const inUse = rules.some((l) => l.startsWith('-A CNI-HOSTPORT-DNAT ') && / -j CNI-DN-/.test(l));
  if (added.length === 0 || inUse) return;
  for (const l of rules.filter((r) => r.startsWith('-A ') && !before.has(r))) {
    if (added.some((c) => l.includes(`-j ${c}`))) del(l);
  }
  for (const c of added) trySh('iptables', ['-t', 'nat', '-F', c]);
  for (const c of added) trySh('iptables', ['-t', 'nat', '-X', c]);
}

// ---- the runtimes ----

interface Daemon {
  sock: string;
  child: ChildProcess;
  logPath: string;
  version: string;
}

/** Waits until `crictl version` answers on `sock` (or the daemon exits, or 60 s pass). */
async function waitServing(d: Omit<Daemon, 'version'>, name: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (d.child.exitCode !== null || d.child.signalCode !== null) {
      throw new Error(`${name} exited: ${readFileSync(d.logPath, 'utf8').slice(-2000)}`);
    }
    if (existsSync(d.sock)) {
      const r = crictl(d.sock, ['version'], 10_000);
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
  // Its own process group: a Ctrl-C in the terminal reaches only us, and the cleanup stops it in order.
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
      `[cri]\nlisten = ${q(sock)}\ncni_conf_dir = ${q(net.confDir)}\ncni_bin_dirs = ["/usr/lib/cni"]\n` +
      (berthRuntime === undefined ? '' : `\n[runtime]\ndefault = ${q(berthRuntime)}\n`),
  );
  const logPath = join(outDir, 'berthd.daemon.log');
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
  sandbox_image = "registry.k8s.io/pause:3.6"
  # lowering oom_score_adj needs CAP_SYS_RESOURCE, which root lacks on these machines
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
    [${cri}.containerd.runtimes.crun]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.crun.options]
        BinaryName = "crun"
        SystemdCgroup = false
        Root = ${q(join(state, 'crun'))}
  [${cri}.registry]
    config_path = ${q(certsDir)}
`,
  );
  const logPath = join(outDir, 'containerd.daemon.log');
  const child = spawnDaemon('containerd', ['--config', config], logPath);
  stage.push('stop containerd', () => stopChild(child, 10_000));
  const version = await waitServing({ sock, child, logPath }, 'containerd');
  return { sock, child, logPath, version };
}

// ---- critest and its report ----

/** The parts of Ginkgo v2's JSON report read here. */
interface GinkgoSpec {
  ContainerHierarchyTexts: string[] | null;
  LeafNodeText: string;
  LeafNodeType: string;
  State: string;
  RunTime: number;
  Failure?: { Message: string; Location?: { FileName: string; LineNumber: number } };
}

interface Summary {
  ran: number;
  total: number;
  passed: number;
  failed: number;
  pending: number;
  skipped: number;
  seconds: number;
}

interface Outcome {
  runtime: RuntimeKey;
  version: string;
  summary: Summary | undefined;
  specs: GinkgoSpec[];
  wallMs: number;
  exitCode: number | null;
  leftovers: string[];
}

function specName(s: GinkgoSpec): string {
  return [...(s.ContainerHierarchyTexts ?? []), s.LeafNodeText].join(' ');
}

/** Ginkgo's closing lines: `Ran N of M Specs in X seconds` and `… P Passed | F Failed | …`. */
function parseSummary(text: string): Summary | undefined {
  const ran = /Ran (\d+) of (\d+) Specs? in ([\d.]+) seconds/.exec(text);
  const counts = /(\d+) Passed \| (\d+) Failed(?: \| \d+ Flaked)? \| (\d+) Pending \| (\d+) Skipped/.exec(
    text,
  );
  if (ran === null || counts === null) return undefined;
  return {
    ran: Number(ran[1]),
    total: Number(ran[2]),
    seconds: Number(ran[3]),
    passed: Number(counts[1]),
    failed: Number(counts[2]),
    pending: Number(counts[3]),
    skipped: Number(counts[4]),
  };
}

/** The most telling line of a failure: the gRPC status if there is one, else its first lines. */
function firstErrorLine(message: string, max = 300): string {
  const rpc = /rpc error: code = \w+ desc = [^\n]*/.exec(message);
  if (rpc !== null) return rpc[0].slice(0, max);
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^<[*\w.]+ \| 0x[0-9a-f]+>:?\s*\{?$/.test(l));
  const first = lines[0] ?? '(no message)';
  // Gomega's "Expected\n    <type>: value\nto equal\n    <type>: value": keep the gist on one line.
  if (/^Expected$/.test(first) || /^Unexpected error:?$/.test(first)) {
    return lines.slice(0, 4).join(' ').replace(/\s+/g, ' ').slice(0, max);
  }
  return first.slice(0, max);
}

/** Known causes first; else the first error line with ids and numbers blurred, so alike ones group. */
function causeOf(spec: GinkgoSpec): string {
  const message = spec.Failure?.Message ?? '';
  const line = firstErrorLine(message, 10_000);
  const method = /RuntimeService\.(\w+) is not implemented/.exec(message)?.[1];
  if (method === 'Exec' || method === 'Attach' || method === 'PortForward') {
    return 'Exec/Attach/PortForward: streaming server not implemented';
  }
  if (/shared PID namespace/.test(message)) return 'pod-shared PID namespace (pid: POD) not built';
  if (method !== undefined) return `Unimplemented: ${method}`;
  return line
    .replace(/"[^"]*"/g, '"…"')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/[0-9a-f]{12,}/g, '<id>')
    .replace(/\/tmp\/\S+/g, '<tmp path>')
    .replace(/\d+/g, 'N')
    .slice(0, 160);
}

function specCounts(specs: GinkgoSpec[]): Summary {
  const its = specs.filter((s) => s.LeafNodeType === 'It');
  const n = (states: string[]) => its.filter((s) => states.includes(s.State)).length;
  const failed = n(['failed', 'panicked', 'timedout', 'interrupted', 'aborted']);
  const passed = n(['passed']);
  return {
    ran: passed + failed,
    total: its.length,
    passed,
    failed,
    pending: n(['pending']),
    skipped: n(['skipped']),
    seconds: 0,
  };
}

async function runCritest(runtime: RuntimeKey, d: Daemon, dir: string, stage: Stage): Promise<Outcome> {
  const report = join(outDir, `${runtime}.report.json`);
  const logPath = join(outDir, `${runtime}.critest.log`);
  const tmp = join(dir, 'critest-tmp');
  mkdirSync(tmp, { recursive: true });
  const argv = [
    '--runtime-endpoint',
    `unix://${d.sock}`,
    '--image-endpoint',
    `unix://${d.sock}`,
    `--runtime-service-timeout=${rpcTimeoutS}s`,
    `--image-service-timeout=${2 * rpcTimeoutS}s`,
    '--ginkgo.v',
    '--ginkgo.no-color',
    `--ginkgo.json-report=${report}`,
    `--ginkgo.timeout=${suiteTimeoutMin}m`,
    `--ginkgo.skip=${digestSpec}`,
    ...args.skip.map((s) => `--ginkgo.skip=${s}`),
    ...args.focus.map((f) => `--ginkgo.focus=${f}`),
  ];
  if (args['runtime-handler'] !== undefined) argv.push(`--runtime-handler=${args['runtime-handler']}`);
  if (parallel > 1) argv.push(`-parallel=${parallel}`);
  log(`${runtime}: critest ${argv.join(' ')}`);
  const fd = openSync(logPath, 'w');
  const started = performance.now();
  const child = spawn(critestFound as string, argv, {
    cwd: tmp,
    stdio: ['ignore', fd, fd],
    detached: true,
    // With -parallel, critest runs `ginkgo --nodes=N` from PATH; one built beside critest comes first.
    env: {
      ...process.env,
      TMPDIR: tmp,
      PATH: `${dirname(critestFound as string)}${delimiter}${process.env.PATH}`,
    },
  });
  closeSync(fd);
  stage.push('stop critest', () => stopChild(child, 5_000));
  // A hard limit past Ginkgo's own suite timeout, for a critest stuck outside a spec.
  const hardLimit = setTimeout(() => child.kill('SIGKILL'), (suiteTimeoutMin + 3) * 60_000);
  const progress = setInterval(() => {
    const text = readFileSync(logPath, 'utf8');
    const done = (text.match(/^(?:• |S \[SKIPPED\])/gm) ?? []).length;
    const failed = (text.match(/^• \[(?:FAILED|PANICKED|TIMEDOUT|INTERRUPTED)\]/gm) ?? []).length;
    log(`  ${runtime}: ${done} specs done, ${failed} failed, ${fmtDuration(performance.now() - started)}`);
  }, 60_000);
  const exitCode = await exited(child);
  clearTimeout(hardLimit);
  clearInterval(progress);
  const wallMs = performance.now() - started;
  const text = readFileSync(logPath, 'utf8');
  let specs: GinkgoSpec[] = [];
  if (existsSync(report)) {
    const suites = JSON.parse(readFileSync(report, 'utf8')) as { SpecReports: GinkgoSpec[] | null }[];
    specs = suites.flatMap((s) => s.SpecReports ?? []);
  }
  const summary = parseSummary(text) ?? (specs.length > 0 ? specCounts(specs) : undefined);
  if (summary === undefined) log(`${runtime}: no Ginkgo summary; see ${logPath}`);
  return { runtime, version: d.version, summary, specs, wallMs, exitCode, leftovers: [] };
}

// ---- one runtime, set up and torn down ----

async function measure(runtime: RuntimeKey, work: string, certsDir: string, cleanups: Cleanups) {
  const dir = join(work, runtime);
  mkdirSync(dir, { recursive: true });
  const stage = new Stage(cleanups, `${runtime} run`);
  // Undone last first: the dir, then mounts and stray processes, the network, then (pushed later,
  // so run earlier) the daemon's own removal of its pods while it still serves.
  stage.push(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
  stage.push(`unmount below ${dir}`, () => unmountBelow(dir));
  stage.push(`kill processes of ${dir}`, async () => {
    const killed = await killMarked([dir]);
    for (const p of killed) log(`  killed leftover ${p.pid} ${p.comm}: ${p.cmdline.slice(0, 120)}`);
  });
  const net = testNetwork(dir, stage);
  const d =
    runtime === 'berthd'
      ? await startBerthd(dir, net, certsDir, stage)
      : await startContainerd(dir, net, certsDir, stage);
  stage.push(`${runtime}: remove pods and containers`, () => {
    if (d.child.exitCode !== null || d.child.signalCode !== null) return;
    for (const argv of [
      ['rm', '--all', '--force'],
      ['rmp', '--all', '--force'],
    ]) {
      const r = crictl(d.sock, argv);
      if (r.status !== 0) log(`  crictl ${argv.join(' ')}: ${String(r.stderr).trim().slice(-300)}`);
    }
  });
  log(`${runtime}: serving on ${d.sock}, network ${net.bridge} ${net.subnet}`);
  const outcome = await runCritest(runtime, d, dir, stage);
  await stage.run();
  // What the teardown did not get rid of: reported, not fatal (the global cleanup tries again).
  const stray = processes().filter((p) => p.pid !== process.pid && p.cmdline.includes(dir));
  for (const p of stray) outcome.leftovers.push(`process ${p.pid} ${p.comm}`);
  for (const m of mountsAtOrBelow(dir)) outcome.leftovers.push(`mount ${m}`);
  if (linkExists(net.bridge)) outcome.leftovers.push(`bridge ${net.bridge}`);
  return { outcome, prefix: net.prefix };
}

// ---- report ----

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [head, ...body] = rows;
  if (head === undefined) return '';
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

const failedStates = ['failed', 'panicked', 'timedout', 'interrupted', 'aborted'];

function render(outcomes: Outcome[], images: string[]): string {
  const out: string[] = [];
  out.push(`# critest v1.29.0: ${outcomes.map((o) => o.runtime).join(' vs ')}\n`);
  const fmt = (n: number | undefined) => (n === undefined ? '?' : String(n));
  out.push(
    table([
      ['runtime', 'version', 'ran', 'of', 'passed', 'failed', 'pending', 'skipped', 'ginkgo s', 'wall'],
      ...outcomes.map((o) => [
        o.runtime,
        o.version,
        fmt(o.summary?.ran),
        fmt(o.summary?.total),
        fmt(o.summary?.passed),
        fmt(o.summary?.failed),
        fmt(o.summary?.pending),
        fmt(o.summary?.skipped),
        fmt(o.summary?.seconds),
        fmtDuration(o.wallMs),
      ]),
    ]),
  );
  for (const o of outcomes) {
    const failed = o.specs.filter((s) => failedStates.includes(s.State));
    out.push(`\n## ${o.runtime}: ${failed.length} failed specs, by cause\n`);
    const byCause = new Map<string, GinkgoSpec[]>();
    for (const s of failed) byCause.set(causeOf(s), [...(byCause.get(causeOf(s)) ?? []), s]);
    const rows: string[][] = [['cause', 'spec', 'first error line']];
    for (const [cause, specs] of [...byCause].sort((a, b) => b[1].length - a[1].length)) {
      for (const [i, s] of specs.entries()) {
        const where = s.Failure?.Location;
        const at = where === undefined ? '' : ` (${where.FileName.split('/').pop()}:${where.LineNumber})`;
        rows.push([
          i === 0 ? `${cause} [${specs.length}]` : '',
          `${specName(s)} [${s.State}]`,
          `${firstErrorLine(s.Failure?.Message ?? '')}${at}`,
        ]);
      }
    }
    out.push(failed.length === 0 ? 'none' : table(rows));
    if (o.leftovers.length > 0) out.push(`\nleft after the teardown: ${o.leftovers.join(', ')}`);
  }
  if (outcomes.length > 1) {
    const states = new Map<string, Map<RuntimeKey, string>>();
    for (const o of outcomes) {
      for (const s of o.specs.filter((x) => x.LeafNodeType === 'It')) {
        const m = states.get(specName(s)) ?? new Map<RuntimeKey, string>();
        m.set(o.runtime, s.State);
        states.set(specName(s), m);
      }
    }
    const rows = [['spec', ...outcomes.map((o) => o.runtime)]];
    for (const [name, m] of states) {
      const vals = outcomes.map((o) => m.get(o.runtime) ?? '-');
      if (new Set(vals).size > 1) rows.push([name, ...vals]);
    }
    out.push(`\n## Specs whose result differs (${rows.length - 1})\n`);
    out.push(rows.length === 1 ? 'none' : table(rows));
  }
  out.push(`\n## Images (mirror of registry.k8s.io / gcr.io)\n\n${images.join('\n')}`);
  return `${out.join('\n')}\n`;
}

/** The outcomes kept in an earlier run's --out directory (its reports and logs). */
function loadOutcomes(dir: string): Outcome[] {
  const out: Outcome[] = [];
  for (const runtime of runtimeKeys) {
    const report = join(dir, `${runtime}.report.json`);
    if (!existsSync(report)) continue;
    const suites = JSON.parse(readFileSync(report, 'utf8')) as { SpecReports: GinkgoSpec[] | null }[];
    const specs = suites.flatMap((s) => s.SpecReports ?? []);
    const logPath = join(dir, `${runtime}.critest.log`);
    const summary =
      (existsSync(logPath) ? parseSummary(readFileSync(logPath, 'utf8')) : undefined) ?? specCounts(specs);
    const versionPath = join(dir, `${runtime}.version.txt`);
    out.push({
      runtime,
      version: existsSync(versionPath) ? readFileSync(versionPath, 'utf8').trim() : '?',
      summary,
      specs,
      wallMs: Number.NaN,
      exitCode: null,
      leftovers: [],
    });
  }
  return out;
}

// ---- main ----

if (args.render !== undefined) {
  const dir = resolve(args.render);
  const images = existsSync(join(dir, 'images.txt'))
    ? (readFileSync(join(dir, 'images.txt'), 'utf8').split('\n\n')[0]?.split('\n') ?? [])
    : [];
  process.stdout.write(render(loadOutcomes(dir), images));
  process.exit(0);
}

const cleanups = new Cleanups();
process.exitCode = 0;
try {
  if (process.getuid?.() !== 0) throw new Error('needs root (containers, network namespaces, iptables)');
  if (critestFound === undefined || crictlFound === undefined) {
    throw new Error('needs critest and crictl v1.29 (scripts/install-cri-tools builds them)');
  }
  const tools = ['docker-registry', 'skopeo', 'runc', 'conmon', 'ip', 'iptables', 'ipcmk', 'cc', 'dpkg-deb'];
  if (selected.includes('containerd')) tools.push('containerd');
  if (berthRuntime === 'crun' || args['runtime-handler'] === 'crun') tools.push('crun');
  if (parallel > 1 && !existsSync(join(dirname(critestFound), 'ginkgo')) && which('ginkgo') === undefined) {
    throw new Error(
      `--parallel needs the ginkgo CLI in PATH or next to critest: in cri-tools v1.29, ` +
        `go build -mod=vendor -o ${dirname(critestFound)}/ginkgo ./vendor/github.com/onsi/ginkgo/v2/ginkgo`,
    );
  }
  const missing = tools.filter((t) => which(t) === undefined);
  if (missing.length > 0) throw new Error(`missing: ${missing.join(', ')} (apt-get install them)`);
  if (selected.includes('berthd') && !existsSync(berthd)) throw new Error(`no berthd at ${berthd}`);
  for (const port of hostPorts) {
    if (!(await portFree(port))) throw new Error(`host port ${port} is in use: critest needs 12000–12003`);
  }
  mkdirSync(outDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'berth-critest-work-'));
  cleanups.push(`remove ${work}`, () => {
    unmountBelow(work);
    rmSync(work, { recursive: true, force: true, maxRetries: 3 });
  });
  const forwardBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  const natBefore = new Set(natRules());
  const prefixes: string[] = [];
  cleanups.push('nat rules left by portmap', () => cleanNat(natBefore, prefixes));

  log(`critest images: building in ${work}/images`);
  let t0 = performance.now();
  const built = await buildCritestImages(join(work, 'images'), log);
  const hooks: (() => unknown)[] = [];
  cleanups.push('stop the registry', async () => {
    for (const fn of hooks) await fn();
  });
  const registry = await startRegistry({ after: (fn: () => unknown) => hooks.push(fn) }, { auth: 'none' });
  const images: string[] = [];
  for (const t of built.tags) {
    await skopeoCopy(`oci:${built.layoutDir}:${t.ref}`, `docker://${registry.host}/${t.repo}:${t.tag}`, {
      preserveDigests: true,
    });
    images.push(`- ${t.upstream}/${t.repo}:${t.tag} → ${registry.host} (${t.manifestDigest.slice(0, 19)}…)`);
  }
  log(
    `critest images: ${built.tags.length} tags pushed to ${registry.host} in ${fmtDuration(performance.now() - t0)}`,
  );
  writeFileSync(join(outDir, 'images.txt'), `${images.join('\n')}\n\npackages: ${built.debs.join(' ')}\n`);
  const certsDir = join(work, 'certs.d');
  for (const [host, server] of [
    ['gcr.io', 'https://gcr.io'],
    ['registry.k8s.io', 'https://registry.k8s.io'],
    ['docker.io', 'https://registry-1.docker.io'],
  ] as const) {
    mkdirSync(join(certsDir, host), { recursive: true });
    writeFileSync(
      join(certsDir, host, 'hosts.toml'),
      `server = "${server}"\n\n[host."http://${registry.host}"]\n  capabilities = ["pull", "resolve"]\n`,
    );
  }

  const outcomes: Outcome[] = [];
  for (const runtime of selected) {
    if (cleanups.stopping) break;
    t0 = performance.now();
    const { outcome, prefix } = await measure(runtime, work, certsDir, cleanups);
    if (cleanups.stopping) log(`${runtime}: interrupted; its counts are partial`);
    prefixes.push(prefix);
    outcomes.push(outcome);
    writeFileSync(join(outDir, `${runtime}.version.txt`), `${outcome.version}\n`);
    const s = outcome.summary;
    log(
      `${runtime}: ${s === undefined ? 'no summary' : `${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped of ${s.total}`} in ${fmtDuration(performance.now() - t0)}`,
    );
  }
  cleanNat(natBefore, prefixes);
  const forwardAfter = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  if (forwardAfter !== forwardBefore)
    log(`warning: net.ipv4.ip_forward went ${forwardBefore} → ${forwardAfter}`);
  const text = render(outcomes, images);
  writeFileSync(join(outDir, 'summary.md'), text);
  process.stdout.write(text);
  log(`logs and reports: ${outDir}`);
  const first = (cmd: string, a: string[]) => (trySh(cmd, a) ?? '?').split('\n')[0];
  log(
    `${first(critestFound, ['--version'])}; ${first('runc', ['--version'])}; kernel ${first('uname', ['-r'])}`,
  );
} catch (err) {
  log(`critest bench: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanups.run();
}
