// Benchmark: `berth run --rm IMAGE true` end to end against `ctr run --rm` (a private containerd from
// Debian), `podman run --rm --network none` and the floor, `crun run` and `runc run` on a ready
// bundle; then the memory each engine keeps per running container (its shim's RSS). Needs root;
// installs its peers from Debian when missing. Not part of the test suite.
//
//   node_modules/.bin/node bench/run.ts                        25 runs (+3 warm-up) of every contender
//   node_modules/.bin/node bench/run.ts --runs 40 --contenders berth,ctr --no-memory
//   node_modules/.bin/node bench/run.ts --trace                 + one berth run under strace -f
//   node_modules/.bin/node bench/run.ts --berth-checkout DIR    measure the berth in DIR instead
//
// Beside berth's run, two parts of it are timed the same way: `berth --version` (Node's start) and
// `berth ps -a` (CLI, config and metadata DB, no container). bin/berth runs the dist/ bundle only
// while it is fresh (bin/start.mjs), else the slower TypeScript sources: the output says which.
//
// One tiny busybox image (the test fixtures' base layer, built by berth's image builder) is pushed
// to a docker-registry on 127.0.0.1 and pulled by each engine first (untimed). Every store lives on
// one journaled ext4 loop filesystem made here; runtime state (sockets, runtime roots, berth's and
// podman's state) on a tmpfs made here, as /run is on a usual host (on these machines /run is on
// the root fs). Rounds are interleaved (one run of each contender, the order rotated every round);
// the figures are the median and p90 of the kept runs. Everything goes when the run ends, also on
// failure or Ctrl-C: containers, processes (by pid), mounts, the loop device, registry, containerd.

import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { hideUnifiedWrapper, hostNeedsUnifiedHidden } from '../src/runtime/crun-hybrid.ts';
import { startRegistry } from '../test/harness/registry.ts';
import { skopeoCopy } from '../test/harness/skopeo.ts';
import {
  Cleanups,
  type Containerd,
  ensureDebianTools,
  exited,
  killMarked,
  log,
  mountLoopFs,
  mountTmpfs,
  type Proc,
  processes,
  pssKiB,
  sh,
  startContainerd,
  statusKiB,
  trySh,
  unmountBelow,
  waitQuiet,
} from './peers.ts';
import { type BenchRunImage, buildBusyboxImage, writeFloorBundle } from './run-image.ts';
import { traceTimeline } from './run-trace.ts';

const repoRoot = new URL('..', import.meta.url).pathname;
const work = process.env.BERTH_BENCH_RUN_DIR ?? '/var/tmp/berth-bench-run';
/** containerd namespace: also the cgroup parent ctr gives its containers (/<namespace>/<id>). */
const ctrNamespace = 'berth-bench-run';
/** Starting `true` takes tens of milliseconds; a run stuck this long is broken. */
const runDeadlineMs = 60_000;

type Key = 'berth' | 'ctr' | 'podman' | 'crun' | 'runc' | 'berth-version' | 'berth-ps';
const keys: readonly Key[] = ['berth', 'ctr', 'podman', 'crun', 'runc', 'berth-version', 'berth-ps'];

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '25' },
    warmup: { type: 'string', default: '3' },
    contenders: { type: 'string', default: keys.join(',') },
    memory: { type: 'boolean', default: true },
    trace: { type: 'boolean', default: false },
    // Another berth checkout to measure (e.g. `git archive HEAD` unpacked and built, when this
    // tree has uncommitted edits that make dist/ stale); the default is this one.
    'berth-checkout': { type: 'string', default: repoRoot },
  },
  allowNegative: true,
});
const berthRoot = resolve(args['berth-checkout']);
const berthBin = join(berthRoot, 'bin/berth');
const runs = Number(args.runs);
const warmup = Number(args.warmup);
const selected = args.contenders.split(',') as Key[];
for (const c of selected) if (!keys.includes(c)) throw new Error(`--contenders: unknown ${c}`);
if (!(Number.isInteger(runs) && runs >= 1 && Number.isInteger(warmup) && warmup >= 0)) {
  throw new Error('--runs must be ≥ 1 and --warmup ≥ 0');
}

const tools = [
  ['containerd', 'containerd'],
  ['ctr', 'containerd'],
  ['containerd-shim-runc-v2', 'containerd'],
  ['podman', 'podman'],
  ['conmon', 'conmon'],
  ['runc', 'runc'],
  ['crun', 'crun'],
  ['skopeo', 'skopeo'],
  ['docker-registry', 'docker-registry'],
  ['/bin/busybox', 'busybox-static'],
  ['mkfs.ext4', 'e2fsprogs'],
  ['unshare', 'util-linux'],
  ...(args.trace ? ([['strace', 'strace']] as const) : []),
] as const;

// ---- the contenders ----

interface Env {
  image: BenchRunImage;
  /** `127.0.0.1:PORT/bench/busybox:latest` */
  ref: string;
  /** Stores (the loop fs). */
  mnt: string;
  /** Runtime state (the tmpfs). */
  state: string;
  cleanups: Cleanups;
  containerd?: Containerd;
}

interface Contender {
  key: Key;
  label: string;
  floor: boolean;
  /** Why it does not run (here, or any more), when it does not. */
  skipped?: string | undefined;
  /** Untimed: pull the image, make the store. */
  prepare(env: Env): Promise<void>;
  /** The argv of one timed run of `cmd` (`['true']`); `n` makes names unique. */
  argv(env: Env, n: string, cmd: string[]): string[];
  env?: NodeJS.ProcessEnv;
  /** Starts `sleep 1000` detached; returns how to remove it. Engines only (not floors, not parts). */
  detach?(env: Env): Promise<{ marker: string[]; remove: () => unknown }>;
}

// -- berth --

interface BerthCli {
  available: boolean;
  hasNet: boolean;
  hasName: boolean;
}

function berthCli(): BerthCli {
  // Before the command exists, `berth run --help` prints the top-level help (exit 0), so the test is
  // its usage line, not the exit code.
  let help = '';
  try {
    help = execFileSync(berthBin, ['run', '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    help = '';
  }
  const available = /^Usage: berth run\b/m.test(help);
  return {
    available,
    hasNet: available && /--net\b/.test(help),
    hasName: available && /--name\b/.test(help),
  };
}

/**
 * What bin/berth runs: since a1b1e83 the esbuild bundle in dist/ when it is newer than every file
 * under src/ and package-lock.json (bin/start.mjs bundleIsFresh), else the TypeScript sources, which
 * start much slower. Checked the same way here, so the figures say which one was measured.
 */
function berthEntry(): 'bundle' | 'sources' {
  if (process.env.BERTH_FROM_SOURCE === '1') return 'sources';
  let sourcesAt: number;
  try {
    sourcesAt = (
      JSON.parse(readFileSync(join(berthRoot, 'dist/stamp.json'), 'utf8')) as { sourcesAt: number }
    ).sourcesAt;
  } catch {
    return 'sources';
  }
  if (statSync(join(berthRoot, 'package-lock.json')).mtimeMs > sourcesAt) return 'sources';
  for (const e of readdirSync(join(berthRoot, 'src'), { recursive: true, withFileTypes: true })) {
    if (e.isFile() && statSync(join(e.parentPath, e.name)).mtimeMs > sourcesAt) return 'sources';
  }
  return 'bundle';
}

function berthGlobal(env: Env): string[] {
  return [
    '--config',
    join(env.state, 'berth.toml'),
    '--root',
    join(env.mnt, 'berth'),
    '--state',
    join(env.state, 'berth'),
  ];
}

function berth(cli: BerthCli): Contender {
  const net = cli.hasNet ? ['--net', 'none'] : [];
  return {
    key: 'berth',
    label: 'berth run --rm',
    floor: false,
    ...(cli.available ? {} : { skipped: 'skipped (no run command yet)' }),
    async prepare(env) {
      // An empty config file: defaults (runtime runc, conmon, overlayfs), whatever /etc/berth holds.
      writeFileSync(join(env.state, 'berth.toml'), '');
      sh(berthBin, [...berthGlobal(env), 'pull', env.ref]);
    },
    argv: (env, _n, cmd) => [berthBin, ...berthGlobal(env), 'run', '--rm', ...net, env.ref, ...cmd],
    async detach(env) {
      const name = 'berth-bench-run-mem';
      const out = sh(berthBin, [
        ...berthGlobal(env),
        'run',
        '-d',
        ...(cli.hasName ? ['--name', name] : []),
        ...net,
        env.ref,
        'sleep',
        '1000',
      ]);
      const id = cli.hasName ? name : (out.trim().split('\n').at(-1) ?? '').trim();
      return {
        marker: [join(env.mnt, 'berth'), join(env.state, 'berth')],
        remove: () => sh(berthBin, [...berthGlobal(env), 'rm', '-f', id]),
      };
    },
  };
}

/**
 * Two parts of berth's time, measured beside it: Node's start with berth's entry point (`--version`
 * is answered before the command table loads), and a command that loads the CLI, reads the config
 * and opens the metadata DB of the same store but starts no container (`ps -a`).
 */
function berthParts(cli: BerthCli): Contender[] {
  const skipped = cli.available ? {} : { skipped: 'skipped (no run command yet)' };
  // Nothing to prepare: berth's own row made the store and the config file.
  const noop = (): Promise<void> => Promise.resolve();
  return [
    {
      key: 'berth-version',
      label: 'part of berth: `berth --version` (Node start-up)',
      floor: false,
      ...skipped,
      prepare: noop,
      argv: () => [berthBin, '--version'],
    },
    {
      key: 'berth-ps',
      label: 'part of berth: `berth ps -a` (CLI, config, metadata DB; no container)',
      floor: false,
      ...skipped,
      prepare: noop,
      argv: (env) => [berthBin, ...berthGlobal(env), 'ps', '-a'],
    },
  ];
}

// -- ctr --

function ctrArgs(env: Env): string[] {
  return ['-a', (env.containerd as Containerd).sock, '-n', ctrNamespace];
}

const ctr: Contender = {
  key: 'ctr',
  label: 'ctr run --rm',
  floor: false,
  async prepare(env) {
    env.containerd = await startContainerd(join(env.mnt, 'containerd'), join(env.state, 'ctd'), env.cleanups);
    // Removed while containerd still runs (cleanups run last-first): its tasks, then its containers.
    env.cleanups.push('ctr containers', () => removeCtrContainers(env));
    sh('ctr', [...ctrArgs(env), 'images', 'pull', '--plain-http', env.ref]);
  },
  argv: (env, n, cmd) => ['ctr', ...ctrArgs(env), 'run', '--rm', env.ref, `bench-${n}`, ...cmd],
  async detach(env) {
    const id = 'bench-mem';
    sh('ctr', [...ctrArgs(env), 'run', '-d', env.ref, id, 'sleep', '1000']);
    return {
      marker: [(env.containerd as Containerd).sock],
      remove: () => {
        sh('ctr', [...ctrArgs(env), 'tasks', 'delete', '--force', id]);
        sh('ctr', [...ctrArgs(env), 'containers', 'delete', id]);
      },
    };
  },
};

function removeCtrContainers(env: Env): void {
  const base = ctrArgs(env);
  const tasks = (trySh('ctr', [...base, 'tasks', 'ls', '-q']) ?? '').split('\n').filter((l) => l !== '');
  for (const id of tasks) trySh('ctr', [...base, 'tasks', 'delete', '--force', id]);
  const ctrs = (trySh('ctr', [...base, 'containers', 'ls', '-q']) ?? '').split('\n').filter((l) => l !== '');
  if (ctrs.length > 0) trySh('ctr', [...base, 'containers', 'delete', ...ctrs]);
}

// -- podman --

function podmanGlobal(env: Env): string[] {
  return [
    '--root',
    join(env.mnt, 'podman'),
    '--runroot',
    join(env.state, 'podman'),
    '--tmpdir',
    join(env.state, 'podman-tmp'),
    '--storage-driver',
    'overlay',
    // No systemd here; and Debian's podman defaults to crun, which refuses this hybrid cgroup host
    // (see src/runtime/crun-hybrid.ts): runc, as ctr and berth use.
    '--cgroup-manager',
    'cgroupfs',
    '--runtime',
    'runc',
    '--events-backend',
    'none',
  ];
}

function podmanEnv(env: Pick<Env, 'state' | 'mnt'>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CONTAINERS_STORAGE_CONF: join(env.state, 'storage.conf'),
    CONTAINERS_REGISTRIES_CONF: join(env.state, 'registries.conf'),
    CONTAINERS_CONF: join(env.state, 'containers.conf'),
    TMPDIR: join(env.mnt, 'podman-tmp'),
  };
}

function podman(dirs: Pick<Env, 'state' | 'mnt'>): Contender {
  return {
    key: 'podman',
    label: 'podman run --rm --network none',
    floor: false,
    env: podmanEnv(dirs),
    async prepare(env) {
      // podman refuses a storage.conf without runroot and graphroot, even with --root and --runroot.
      writeFileSync(
        join(env.state, 'storage.conf'),
        `[storage]\ndriver = "overlay"\nrunroot = ${JSON.stringify(join(env.state, 'podman'))}\ngraphroot = ${JSON.stringify(join(env.mnt, 'podman'))}\n`,
      );
      writeFileSync(join(env.state, 'registries.conf'), '');
      // podman gives a root container RLIMIT_NOFILE and RLIMIT_NPROC of 1048576, above this host's hard
      // limits, and root here lacks CAP_SYS_RESOURCE, so runc fails to set them (`error setting rlimit
      // type 7`, then 6). NOFILE as containerd sets it (1024:1024); NPROC 32768, the value podman 4.3
      // lowers its own limit to at start (strace: setrlimit(RLIMIT_NPROC, 32768)), which conmon and
      // runc inherit: no higher value can be set without CAP_SYS_RESOURCE.
      writeFileSync(
        join(env.state, 'containers.conf'),
        '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=32768:32768"]\n',
      );
      mkdirSync(join(env.mnt, 'podman-tmp'), { recursive: true });
      env.cleanups.push('podman containers', () =>
        trySh('podman', [...podmanGlobal(env), 'rm', '--all', '--force', '--time', '0'], podmanEnv(env)),
      );
      sh('podman', [...podmanGlobal(env), 'pull', '--quiet', '--tls-verify=false', env.ref], podmanEnv(env));
    },
    argv: (env, _n, cmd) => [
      'podman',
      ...podmanGlobal(env),
      'run',
      '--rm',
      '--network',
      'none',
      env.ref,
      ...cmd,
    ],
    async detach(env) {
      const id = sh(
        'podman',
        [...podmanGlobal(env), 'run', '-d', '--network', 'none', env.ref, 'sleep', '1000'],
        podmanEnv(env),
      ).trim();
      return {
        marker: [join(env.mnt, 'podman'), join(env.state, 'podman')],
        remove: () =>
          sh('podman', [...podmanGlobal(env), 'rm', '--force', '--time', '0', id], podmanEnv(env)),
      };
    },
  };
}

// -- the floor --

const crunHidden = hostNeedsUnifiedHidden();

function floor(key: 'crun' | 'runc'): Contender {
  const wrapper = key === 'crun' && crunHidden ? hideUnifiedWrapper() : [];
  const label =
    key === 'crun'
      ? `floor: crun run${crunHidden ? ' (in unshare --mount, cgroup2 mount at /sys/fs/cgroup/unified unmounted)' : ''}`
      : 'floor: runc run';
  return {
    key,
    label,
    floor: true,
    async prepare(env) {
      const bundle = join(env.mnt, 'bundle');
      if (!existsSync(join(bundle, 'config.json'))) writeFloorBundle(bundle, env.image);
    },
    argv: (env, n, cmd) => [
      ...wrapper,
      key,
      '--root',
      join(env.state, `floor-${key}`),
      'run',
      '--bundle',
      floorBundle(env, cmd),
      `floor-${n}`,
    ],
  };
}

/**
 * The floor's bundle for `cmd`: the one `true` runs in, or (for the untimed exit-code check) a copy
 * whose config.json runs `cmd`.
 */
function floorBundle(env: Env, cmd: string[]): string {
  const main = join(env.mnt, 'bundle');
  if (cmd.length === 1 && cmd[0] === 'true') return main;
  const alt = join(env.mnt, `bundle-${cmd.join('-')}`);
  if (!existsSync(alt)) {
    mkdirSync(alt);
    sh('cp', ['-a', join(main, 'rootfs'), alt]);
    const config = JSON.parse(readFileSync(join(main, 'config.json'), 'utf8')) as {
      process: { args: string[] };
    };
    config.process.args = cmd;
    writeFileSync(join(alt, 'config.json'), JSON.stringify(config, null, 2));
  }
  return alt;
}

/** A failure in one line: how the command ended, and the last line of its output (which says why). */
function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const lines = message.split(/[\r\n]+/).filter((l) => l.trim() !== '');
  const how = / (exited \d+|exit \d+|killed after \d+ s|killed by \w+)\b/.exec(lines[0] ?? '')?.[1];
  const last = (lines.at(-1) ?? '').trim().slice(0, 200);
  return how === undefined || lines.length === 1 ? last : `${how}: ${last}`;
}

// ---- one timed run ----

/** Spawn to exit, in ms, with output to `logPath`; throws when it exits other than `expect`. */
async function timed(argv: string[], logPath: string, env: NodeJS.ProcessEnv, expect = 0): Promise<number> {
  const logFd = openSync(logPath, 'w');
  const t = performance.now();
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', logFd, logFd], env });
  closeSync(logFd);
  const deadline = setTimeout(() => child.kill('SIGKILL'), runDeadlineMs);
  const code = await exited(child);
  const ms = performance.now() - t;
  clearTimeout(deadline);
  if (code !== expect) {
    throw new Error(
      `${argv.join(' ')} exited ${code} (expected ${expect}):\n${readFileSync(logPath, 'utf8').slice(-2000)}`,
    );
  }
  return ms;
}

// ---- memory per running container ----

interface MemRow {
  label: string;
  shim?: Proc;
  rssKiB?: number;
  pssKiB?: number;
  leftovers: { proc: Proc; rssKiB: number }[];
  note?: string;
}

/** Starts the contender's `sleep 1000`, then finds its shim: the parent of the container's init. */
async function measureMemory(c: Contender, env: Env): Promise<MemRow> {
  const label = c.key;
  const detach = c.detach;
  if (detach === undefined) return { label, leftovers: [] };
  const ownNs = readlinkSync('/proc/self/ns/pid');
  const before = new Set(processes().map((p) => p.pid));
  const started = await detach(env);
  env.cleanups.push(`${c.key} memory container`, started.remove);
  // Let the shim settle (conmon and the runc shim finish their set-up after the CLI returns).
  await sleep(1500);
  const procs = processes();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const marked = (p: Proc | undefined): boolean =>
    p !== undefined && started.marker.some((m) => p.cmdline.includes(m));
  const init = procs.find(
    (p) => !before.has(p.pid) && p.cmdline === 'sleep 1000' && p.pidNs !== ownNs && marked(byPid.get(p.ppid)),
  );
  if (init === undefined) return { label, leftovers: [], note: 'container init (sleep 1000) not found' };
  const shim = byPid.get(init.ppid) as Proc;
  // Anything else this start left running beside the shim and the container (a lingering CLI, a
  // helper), named by the contender's directories.
  const leftovers = procs
    .filter(
      (p) => !before.has(p.pid) && p.pid !== shim.pid && p.pid !== init.pid && p.pidNs === ownNs && marked(p),
    )
    .map((proc) => ({ proc, rssKiB: statusKiB(proc.pid, 'VmRSS') }));
  return { label, shim, rssKiB: statusKiB(shim.pid, 'VmRSS'), pssKiB: pssKiB(shim.pid), leftovers };
}

/** The program's file name (comm is cut at 15 characters: `containerd-shim`). */
function programName(p: Proc): string {
  return basename(p.cmdline.split(' ')[0] ?? p.comm) || p.comm;
}

// ---- statistics and tables ----

function quantile(xs: number[], q: number): number {
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

interface Samples {
  /** Wall time of each kept run, spawn to exit, ms. */
  ms: number[];
  /** After each exit: how long processes of the run kept going (a shim exiting, a cleanup), ms. */
  bg: number[];
  /** The first line of each failed run's error. */
  failures: string[];
}

function timeTable(contenders: Contender[], results: Map<Key, Samples>): string {
  const measured = (key: Key): number[] | undefined => {
    const c = contenders.find((x) => x.key === key);
    const xs = results.get(key)?.ms;
    return c?.skipped === undefined && xs !== undefined && xs.length > 0 ? xs : undefined;
  };
  const ctrXs = measured('ctr');
  const ctrMed = ctrXs === undefined ? undefined : median(ctrXs);
  const rows = [
    '| contender | median ms | p90 ms | min–max ms | × ctr | then busy in background, median ms |',
    '|---|---|---|---|---|---|',
  ];
  const notes: string[] = [];
  for (const c of contenders) {
    const r = results.get(c.key);
    if (r !== undefined && r.failures.length > 0) {
      notes.push(`${c.key}: ${r.failures.length} failed run(s), e.g. "${r.failures.at(-1)}"`);
    }
    const xs = measured(c.key);
    if (r === undefined || xs === undefined) {
      rows.push(`| ${c.label} | ${c.key}: ${c.skipped ?? 'not run'} | | | | |`);
      continue;
    }
    const m = median(xs);
    const ratio = ctrMed === undefined ? '' : (m / ctrMed).toFixed(2);
    rows.push(
      `| ${c.label} | ${m.toFixed(1)} | ${quantile(xs, 0.9).toFixed(1)} | ${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)} | ${ratio} | ${median(r.bg).toFixed(0)} |`,
    );
  }
  const berthXs = measured('berth');
  let target = 'target: berth ≤ 0.8× ctr';
  if (ctrMed !== undefined) target += ` (≤ ${(0.8 * ctrMed).toFixed(1)} ms here)`;
  if (berthXs !== undefined && ctrMed !== undefined) {
    const r = median(berthXs) / ctrMed;
    target += `: ${r <= 0.8 ? 'met' : 'not met'} (${r.toFixed(2)}×)`;
  } else target += ': berth not measured';
  return [rows.join('\n'), ...(notes.length > 0 ? ['', ...notes] : []), '', target].join('\n');
}

function memTable(rows: MemRow[], containerdKiB: number | undefined): string {
  const mib = (kib: number | undefined): string => (kib === undefined ? '' : (kib / 1024).toFixed(1));
  const out = ['| engine | shim process | VmRSS MiB | Pss MiB | also running |', '|---|---|---|---|---|'];
  for (const r of rows) {
    if (r.shim === undefined) {
      out.push(`| ${r.label} | ${r.note ?? 'skipped'} | | | |`);
      continue;
    }
    const also = [
      ...r.leftovers.map((l) => `${programName(l.proc)} (${mib(l.rssKiB)} MiB)`),
      ...(r.label === 'ctr' && containerdKiB !== undefined
        ? [`containerd daemon ${mib(containerdKiB)} MiB, shared by all its containers`]
        : []),
    ];
    out.push(
      `| ${r.label} | ${programName(r.shim)} | ${mib(r.rssKiB)} | ${mib(r.pssKiB)} | ${also.length === 0 ? 'nothing' : also.join('; ')} |`,
    );
  }
  return out.join('\n');
}

/**
 * rmdir of a cgroup directory and its sub-groups, deepest first (podman leaves libpod_parent/conmon).
 * rmdir, not rm: a cgroup's control files cannot be unlinked, and rmdir fails while a group is in use.
 */
function removeCgroupTree(dir: string): void {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    if (d.isDirectory()) removeCgroupTree(join(dir, d.name));
  }
  try {
    rmdirSync(dir);
  } catch (err) {
    log(`cleanup: cgroup ${dir} left: ${(err as Error).message}`);
  }
}

// ---- main ----

async function main(cleanups: Cleanups): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/run.ts needs root (loop mounts, containers)');
  ensureDebianTools(tools);
  mkdirSync(work, { recursive: true });
  const base = mkdtempSync(join(work, 'run-'));
  cleanups.push(`rm ${base}`, () => rmSync(base, { recursive: true, force: true }));
  const stateDir = mkdtempSync('/run/berth-bench-run-');
  cleanups.push(`rm ${stateDir}`, () => rmSync(stateDir, { recursive: true, force: true }));
  const state = mountTmpfs(stateDir, '256m', cleanups);
  const mnt = mountLoopFs(base, '2G', cleanups);

  // Cgroup parents created by this run (ctr's namespace, podman's libpod_parent when new): removed
  // at the end if empty. Pushed before the container cleanups, so it runs after them.
  const hierarchies = readdirSync('/sys/fs/cgroup', { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join('/sys/fs/cgroup', d.name));
  const parents = [
    ctrNamespace,
    ...(hierarchies.some((h) => existsSync(join(h, 'libpod_parent'))) ? [] : ['libpod_parent']),
  ];
  cleanups.push('cgroup parents', () => {
    for (const h of hierarchies) {
      for (const p of parents) {
        const dir = join(h, p);
        if (existsSync(dir)) removeCgroupTree(dir);
      }
    }
    // The runc shim's state root for our namespace (created by the shim, empty once its tasks are gone).
    trySh('rm', ['-rf', `/run/containerd/runc/${ctrNamespace}`]);
  });
  // Runtime state the polite cleanups missed (a shim killed by the safety net): runc/crun delete
  // --force removes the container's cgroups and state. Runs after the safety net below.
  cleanups.push('runtime state', () => {
    const roots: [string, string[]][] = [
      [`/run/containerd/runc/${ctrNamespace}`, ['runc']],
      [join(state, 'berth', 'runtimes', 'runc', 'root'), ['runc']],
      [
        join(state, 'berth', 'runtimes', 'crun', 'root'),
        [...(crunHidden ? hideUnifiedWrapper() : []), 'crun'],
      ],
      [join(state, 'floor-runc'), ['runc']],
      [join(state, 'floor-crun'), [...(crunHidden ? hideUnifiedWrapper() : []), 'crun']],
    ];
    for (const [root, cmd] of roots) {
      if (!existsSync(root)) continue;
      const [bin, ...pre] = cmd as [string, ...string[]];
      const ids = (trySh(bin, [...pre, '--root', root, 'list', '-q']) ?? '')
        .split('\n')
        .filter((l) => l !== '');
      for (const id of ids) {
        log(`cleanup: ${root}: deleting leftover ${id}`);
        trySh(bin, [...pre, '--root', root, 'delete', '--force', id]);
      }
    }
  });

  const image = await buildBusyboxImage(join(base, 'layout'));
  const hooks: (() => unknown)[] = [];
  cleanups.push('registry', async () => {
    for (const fn of hooks) await fn();
  });
  const registry = await startRegistry({ after: (fn: () => unknown) => hooks.push(fn) }, { auth: 'none' });
  const ref = `${registry.host}/bench/busybox:latest`;
  await skopeoCopy(image.ociReference, `docker://${ref}`, { preserveDigests: true });
  log(`image ${ref} (${image.manifestDigest}), stores on ${mnt}, state on ${state}`);

  // The safety net, run before everything above is undone and after every polite removal below:
  // any process naming this run's directories or containerd socket, with what runs under it.
  cleanups.push('processes', async () => {
    // First a grace period: a shim may still be running its exit command (berth's, podman's cleanup).
    const quiet = await waitQuiet([base, state], [], 10_000);
    if (quiet.ms > 50) log(`cleanup: waited ${quiet.ms.toFixed(0)} ms for this run's processes to end`);
    const killed = await killMarked([base, state]);
    for (const p of killed) log(`cleanup: killed ${p.pid} ${p.comm} (${p.cmdline.slice(0, 300)})`);
    unmountBelow(mnt);
    unmountBelow(state);
  });

  const env: Env = { image, ref, mnt, state, cleanups };
  const cli = berthCli();
  const all: Contender[] = [berth(cli), ctr, podman(env), floor('crun'), floor('runc'), ...berthParts(cli)];
  const contenders = all.filter((c) => selected.includes(c.key));
  const active = contenders.filter((c) => c.skipped === undefined);
  for (const c of contenders) if (c.skipped !== undefined) log(`${c.key}: ${c.skipped}`);

  const logs = join(state, 'logs');
  mkdirSync(logs);
  for (const c of [...active]) {
    const isBerth = c.key.startsWith('berth');
    const berthMain = all[0] as Contender;
    if (isBerth && c !== berthMain && berthMain.skipped !== undefined) {
      // berth's parts are measured only beside berth itself.
      c.skipped = berthMain.skipped;
      active.splice(active.indexOf(c), 1);
      continue;
    }
    log(`${c.key}: preparing`);
    try {
      await c.prepare(env);
      // A container that really ran: its exit code comes back (`false` → 1).
      if (c.floor || c.detach !== undefined) {
        await timed(
          c.argv(env, 'check', ['false']),
          join(logs, `${c.key}-check.log`),
          c.env ?? process.env,
          1,
        );
      }
    } catch (err) {
      // The peers must work; berth is measured as it is, so its failures are reported, not fatal.
      if (!isBerth) throw err;
      c.skipped = `failed before the first run: ${firstLine(err)}`;
      log(`${c.key}: ${c.skipped}`);
      active.splice(active.indexOf(c), 1);
    }
  }

  const entryBefore = berthEntry();
  if (entryBefore === 'sources')
    log('berth: dist/ is stale or absent, so bin/berth runs the TypeScript sources');
  const results = new Map<Key, Samples>(active.map((c) => [c.key, { ms: [], bg: [], failures: [] }]));
  const daemons = env.containerd === undefined ? [] : [env.containerd.pid];
  // A contender whose runs fail this often is dropped (its row says why) rather than stopping the rest.
  const maxFailures = Math.max(3, Math.ceil((warmup + runs) / 4));
  log(`${warmup} warm-up + ${runs} rounds of ${active.map((c) => c.key).join(', ')}`);
  for (let round = 0; round < warmup + runs; round++) {
    // Rotated every round, so no contender always runs right after the same other one.
    const inRound = active.filter((c) => c.skipped === undefined);
    const order = inRound.map((_, i) => inRound[(i + round) % inRound.length] as Contender);
    const line: string[] = [];
    for (const c of order) {
      if (cleanups.stopping) throw new Error('interrupted');
      const r = results.get(c.key) as Samples;
      // Our filesystem's dirty pages out first (only ours: other users of the machine have theirs).
      sh('sync', ['-f', mnt]);
      let ms: number | undefined;
      try {
        ms = await timed(
          c.argv(env, String(round), ['true']),
          join(logs, `${c.key}.log`),
          c.env ?? process.env,
        );
      } catch (err) {
        r.failures.push(firstLine(err));
        log(`${c.key} round ${round} failed: ${(err as Error).message.trim()}`);
        if (r.failures.length >= maxFailures) {
          c.skipped = `dropped after ${r.failures.length} failed runs (last: ${firstLine(err)})`;
          log(`${c.key}: ${c.skipped}`);
        }
      }
      // Untimed: whatever the run left working (podman's exit-command cleanup, a shim exiting) ends
      // before the next contender's clock starts.
      const quiet = await waitQuiet([base, state], daemons, 10_000);
      if (quiet.still.length > 0) {
        const names = quiet.still.map((p) => `${p.pid} ${p.cmdline.slice(0, 100)}`).join('; ');
        log(`${c.key}: still running 10 s after its run: ${names}`);
      }
      if (ms === undefined) {
        line.push(`${c.key} failed`);
        continue;
      }
      line.push(`${c.key} ${ms.toFixed(0)}${quiet.ms >= 10 ? ` (+${quiet.ms.toFixed(0)})` : ''}`);
      if (round >= warmup) {
        r.ms.push(ms);
        r.bg.push(quiet.ms);
      }
    }
    log(`round ${round}${round < warmup ? ' (warm-up)' : ''}: ${line.join(', ')} ms`);
  }

  const when = new Date().toISOString().slice(0, 10);
  const commit =
    berthRoot === repoRoot
      ? `commit ${trySh('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'])?.trim() ?? '?'}`
      : `berth from ${berthRoot}`;
  const entryAfter = berthEntry();
  const entry =
    entryBefore === entryAfter
      ? `berth from ${entryBefore === 'bundle' ? 'the dist/ bundle' : 'the TypeScript sources (dist/ stale)'}`
      : `berth from the ${entryBefore} at the start, the ${entryAfter} at the end (src/ changed meanwhile)`;
  const dirty =
    berthRoot === repoRoot &&
    (
      trySh('git', ['--no-optional-locks', '-C', repoRoot, 'status', '--porcelain', '--', 'src']) ?? ''
    ).trim() !== '';
  process.stdout.write(
    `${when}, ${commit}${dirty ? ' + uncommitted src/ changes' : ''}, ${entry}; ${runs} runs (+${warmup} warm-up), ${active.length} contenders interleaved\n\n${timeTable(contenders, results)}\n`,
  );

  const berthMain = contenders.find((c) => c.key === 'berth');
  if (args.trace && berthMain !== undefined && berthMain.skipped === undefined) {
    const argv = berthMain.argv(env, 'trace', ['true']);
    const timeline = traceTimeline(argv, join(logs, 'berth.strace'), process.env);
    process.stdout.write(`\nberth run --rm under strace -f (programs started and ended):\n\n${timeline}\n`);
  }

  if (args.memory) {
    const memRows: MemRow[] = [];
    for (const c of contenders.filter((x) => x.detach !== undefined)) {
      if (c.skipped !== undefined) {
        memRows.push({ label: c.key, leftovers: [], note: c.skipped });
        continue;
      }
      try {
        memRows.push(await measureMemory(c, env));
      } catch (err) {
        if (c.key !== 'berth') throw err;
        memRows.push({ label: c.key, leftovers: [], note: `failed: ${firstLine(err)}` });
      }
    }
    const daemon = env.containerd === undefined ? undefined : statusKiB(env.containerd.pid, 'VmRSS');
    process.stdout.write(`\nmemory per running container (sleep 1000):\n\n${memTable(memRows, daemon)}\n`);
  }
}

const cleanups = new Cleanups();
try {
  await main(cleanups);
} finally {
  await cleanups.run();
}
