// Benchmark: `berth pull` against containerd (`ctr images pull`, and `crictl pull` through its CRI plugin
// when crictl is built), podman and the machine's floor (curl |
// sha256sum | pigz -dc | tar -x, every layer at once), from a local registry, for three images (see
// bench/pull-images.ts). Every contender writes its store to a fresh directory per run on one journaled
// ext4 loop filesystem made here (the root fs has no journal, which makes creates after a big delete
// 10–20× slower and would punish whoever runs after a cleanup). Needs root; installs its peers from
// Debian when missing. Not part of the test suite.
//
//   node_modules/.bin/node bench/pull.ts                   all images × all contenders, 5 runs each
//   node_modules/.bin/node bench/pull.ts --runs 7 --images many-files --contenders berth,floor
//   node_modules/.bin/node bench/pull.ts --profile         berth on many-files under --cpu-prof
//   node_modules/.bin/node bench/pull.ts --profile --images multi-gzip
//   node_modules/.bin/node bench/pull.ts --contenders berth,floor --baseline /tmp/before
//                                          before/after in the same rounds: /tmp/before is another
//                                          checkout (git worktree add /tmp/before <commit>, with
//                                          node_modules linked from this one), run as 'baseline'
//
// berth's runs use bin/berth, which runs the esbuild bundle (dist/) only while it is newer than every
// source: a stale bundle (someone edited src/ since) is rebuilt, untimed, before each run, and the
// table says in how many runs the bundle ran. Each berth run also reports its main thread's CPU.
//
// The work dir (BERTH_BENCH_DIR, default /var/tmp/berth-bench) keeps the Debian tree and the built
// image layouts between runs; the loop filesystem, the registry and any daemon go when the run ends,
// also on failure or Ctrl-C.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { crictl, crictlSkip } from '../test/harness/berthd.ts';
import { startRegistry } from '../test/harness/registry.ts';
import { skopeoCopy } from '../test/harness/skopeo.ts';
import { summarizeProfiles } from './cpuprofile.ts';
import { ensureDebianTools } from './peers.ts';
import {
  type BenchImage,
  type BenchImageName,
  benchImageNames,
  ensureImages,
  layoutReference,
} from './pull-images.ts';

const repoRoot = new URL('..', import.meta.url).pathname;
const berthBin = join(repoRoot, 'bin/berth');
const work = process.env.BERTH_BENCH_DIR ?? '/var/tmp/berth-bench';
/** Room for one run's stores of every contender (they are removed after each run) and slack. */
const loopSize = '6G';
/** A pull of these images takes seconds; a contender stuck this long is broken. */
const runDeadlineMs = 180_000;
const daemonStartDeadlineMs = 20_000;

type ContenderName = 'berth' | 'baseline' | 'containerd' | 'containerd-cri' | 'podman' | 'floor';
const contenderNames: readonly ContenderName[] = [
  'berth',
  'baseline',
  'containerd',
  'containerd-cri',
  'podman',
  'floor',
];

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    images: { type: 'string', default: benchImageNames.join(',') },
    contenders: { type: 'string', default: 'berth,containerd,containerd-cri,podman,floor' },
    // Another berth checkout (a copy of an earlier commit, say) run as contender 'baseline', in the
    // same rounds as this one: before/after figures from one run, with the machine's drift shared.
    baseline: { type: 'string' },
    profile: { type: 'boolean', default: false },
    // Experiments without touching src/: e.g. --berth-node-options=--max-semi-space-size=2
    'berth-node-options': { type: 'string', default: '' },
  },
});
const runs = Number(args.runs);
const warmup = Number(args.warmup);
const images = args.images.split(',') as BenchImageName[];
const contenders = args.contenders.split(',') as ContenderName[];
for (const i of images) if (!benchImageNames.includes(i)) throw new Error(`--images: unknown image ${i}`);
for (const c of contenders) if (!contenderNames.includes(c)) throw new Error(`--contenders: unknown ${c}`);
if (args.baseline !== undefined && !contenders.includes('baseline')) contenders.splice(1, 0, 'baseline');
if (contenders.includes('containerd-cri') && crictl === undefined) {
  log(`skipping containerd-cri: ${crictlSkip}`);
  contenders.splice(contenders.indexOf('containerd-cri'), 1);
}
if (contenders.includes('baseline') && args.baseline === undefined) {
  throw new Error('contender baseline needs --baseline <another berth checkout>');
}
if (!(Number.isInteger(runs) && runs >= 1 && Number.isInteger(warmup) && warmup >= 0)) {
  throw new Error('--runs must be ≥ 1 and --warmup ≥ 0');
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

// ---- cleanup: a stack run once, on normal exit, on failure and on SIGINT/SIGTERM ----

const cleanups: (() => unknown)[] = [];
let cleaning: Promise<void> | undefined;
function runCleanups(): Promise<void> {
  cleaning ??= (async () => {
    // Last acquired, first released: a daemon dies before the filesystem under it is unmounted.
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        log(`cleanup: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: cleaning up`);
    void runCleanups().then(() => process.exit(130));
  });
}

/** Children started here that may still run: killed by PID on cleanup. */
const live = new Set<ChildProcess>();
cleanups.push(async () => {
  for (const child of live) {
    // Timed runs lead their own process group (see timed): the whole pipeline goes.
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
    await stopChild(child, 'SIGKILL');
  }
});

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** SIGTERM (or `signal`), then SIGKILL after a grace period; resolves once the child is reaped. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill(signal);
    const done = exited(child);
    if ((await Promise.race([done.then(() => true), sleep(5000, false, { ref: false })])) === false) {
      child.kill('SIGKILL');
      await done;
    }
  }
  live.delete(child);
}

function sh(cmd: string, argv: string[]): string {
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// ---- peers from Debian ----

const tools: [command: string, pkg: string][] = [
  ['containerd', 'containerd'],
  ['ctr', 'containerd'],
  ['podman', 'podman'],
  ['pigz', 'pigz'],
  ['zstd', 'zstd'],
  ['curl', 'curl'],
  ['debootstrap', 'debootstrap'],
  ['skopeo', 'skopeo'],
  ['docker-registry', 'docker-registry'],
  ['/usr/bin/time', 'time'],
  ['mkfs.ext4', 'e2fsprogs'],
];

function ensureTools(): void {
  ensureDebianTools(tools);
}

// ---- the loop filesystem ----

function mountLoopFs(): string {
  const base = mkdtempSync(join(work, 'run-'));
  cleanups.push(() => rmSync(base, { recursive: true, force: true }));
  const img = join(base, 'fs.img');
  const mnt = join(base, 'mnt');
  mkdirSync(mnt);
  sh('truncate', ['-s', loopSize, img]);
  // Inode tables and journal initialised now, not by ext4lazyinit in the background during runs.
  sh('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', img]);
  // Direct I/O: the loop device writes straight to the backing file instead of through a second
  // page cache on the root fs, whose writeback would otherwise land in a later contender's run.
  const dev = sh('losetup', ['--find', '--show', '--direct-io=on', img]).trim();
  cleanups.push(() => {
    // The kernel may have released it already with the last umount (autoclear): then nothing to do.
    if (sh('losetup', ['--list', '--noheadings', '--output', 'NAME']).includes(dev))
      sh('losetup', ['-d', dev]);
  });
  sh('mount', [dev, mnt]);
  cleanups.push(async () => {
    unmountBelow(mnt);
    // A child of a failed run may still be closing files there: retry briefly, then detach lazily.
    for (let attempt = 1; ; attempt++) {
      try {
        sh('umount', [mnt]);
        return;
      } catch (err) {
        if (attempt === 5) {
          log(`umount ${mnt}: busy, detaching lazily (${(err as Error).message.trim()})`);
          sh('umount', ['-l', mnt]);
          return;
        }
        await sleep(500);
      }
    }
  });
  return mnt;
}

/** Mounts a contender may have left (an interrupted unpack) below `dir`, deepest first. */
function unmountBelow(dir: string): void {
  const points = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((p) => p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) sh('umount', ['-l', p]);
}

// ---- one timed run ----

interface Sample {
  seconds: number;
  /** Peak RSS of the measured process (for the floor: the largest of its processes), KiB. */
  rssKiB: number;
  /** User + system CPU time of the measured process and its waited-for children, s. */
  cpuSeconds: number;
  /** containerd only: the daemon's peak RSS during the pull, KiB. */
  daemonKiB?: number;
  /** berth only: CPU time of the main thread alone (the rest is unpack workers, GC and libuv threads), s. */
  mainCpuSeconds?: number;
  /** berth only: what bin/berth ran, the esbuild bundle or (stale bundle) the TypeScript sources. */
  ran?: 'bundle' | 'sources';
}

/**
 * Runs `argv` under GNU time (peak RSS from wait4's rusage) and times it from spawn to exit here, so
 * every contender's figure includes its own start-up. Output goes to `logPath`.
 */
async function timed(argv: string[], logPath: string, env: NodeJS.ProcessEnv = process.env): Promise<Sample> {
  const timeFile = `${logPath}.time`;
  const logFd = openSync(logPath, 'w');
  const t = performance.now();
  // Its own process group, so that a run killed at its deadline takes its pipeline (curl, tar,
  // sha256sum of the floor) with it and leaves nothing holding the loop fs.
  const child = spawn('/usr/bin/time', ['-f', '%e %M %U %S', '-o', timeFile, ...argv], {
    stdio: ['ignore', logFd, logFd],
    env,
    detached: true,
  });
  closeSync(logFd);
  live.add(child);
  const deadline = setTimeout(() => process.kill(-(child.pid as number), 'SIGKILL'), runDeadlineMs);
  const code = await exited(child);
  const seconds = (performance.now() - t) / 1000;
  clearTimeout(deadline);
  live.delete(child);
  if (code !== 0) {
    throw new Error(`${argv.join(' ')} exited ${code}:\n${readFileSync(logPath, 'utf8').slice(-2000)}`);
  }
  const [, rss, user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ');
  return { seconds, rssKiB: Number(rss), cpuSeconds: Number(user) + Number(sys) };
}

interface Target {
  image: BenchImage;
  /** `127.0.0.1:PORT/bench/<name>:latest` */
  ref: string;
  registryUrl: string;
}

interface Contender {
  name: ContenderName;
  /** One pull into a fresh store under `dir` (on the loop fs); `scratch` is for logs and sockets. */
  run(target: Target, dir: string, scratch: string): Promise<Sample>;
}

/**
 * Preloaded into berth's pull (a data: URL, so nothing is stripped or read from disk): at exit it
 * writes the main thread's CPU time to $BERTH_BENCH_CPU_FILE. The main thread
 * competes with the unpack workers for the cores, so its share is worth watching on its own. (Workers
 * run preloads too: the guard keeps theirs from writing.)
 */
const threadCpuPreload = `--import=data:text/javascript,${encodeURIComponent(
  'import{writeFileSync}from"node:fs";import{isMainThread}from"node:worker_threads";' +
    'if(isMainThread)process.on("exit",()=>{const t=process.threadCpuUsage();' +
    'writeFileSync(process.env.BERTH_BENCH_CPU_FILE,String((t.user+t.system)/1e6))})',
)}`;

/** bin/start.mjs's test: the bundle runs only while no file under src/ is newer than its stamp. */
function bundleFresh(checkout: string): boolean {
  if (process.env.BERTH_FROM_SOURCE === '1') return false;
  let stamp: number;
  try {
    stamp = (JSON.parse(readFileSync(join(checkout, 'dist/stamp.json'), 'utf8')) as { sourcesAt: number })
      .sourcesAt;
  } catch {
    return false;
  }
  if (statSync(join(checkout, 'package-lock.json')).mtimeMs > stamp) return false;
  for (const e of readdirSync(join(checkout, 'src'), { recursive: true, withFileTypes: true })) {
    if (e.isFile() && statSync(join(e.parentPath, e.name)).mtimeMs > stamp) return false;
  }
  return true;
}

/**
 * Rebuilds dist/ (untimed) when a source changed since it was built: others may be editing the
 * checkout while the benchmark runs, and a stale bundle makes bin/berth fall back to the sources
 * (~0.1 s more start-up). Returns what the next berth run will execute.
 */
function ensureBundle(checkout: string): 'bundle' | 'sources' {
  if (bundleFresh(checkout)) return 'bundle';
  if (process.env.BERTH_FROM_SOURCE === '1') return 'sources';
  try {
    sh(process.execPath, [join(checkout, 'scripts/build.ts')]);
  } catch (err) {
    log(
      `bundle: ${checkout}/scripts/build.ts failed, berth runs from the sources: ${(err as Error).message.slice(-300)}`,
    );
  }
  return bundleFresh(checkout) ? 'bundle' : 'sources';
}

/** `berth pull` of the checkout at `checkout` (this one, or --baseline's). */
function berthContender(name: 'berth' | 'baseline', checkout: string): Contender {
  const bin = join(checkout, 'bin/berth');
  return {
    name,
    async run(target, dir, scratch) {
      // The store is created first, untimed (like containerd's daemon start): the pull is measured.
      sh(bin, ['--root', dir, 'images']);
      const cpuFile = join(scratch, 'main-thread-cpu');
      const env = {
        ...process.env,
        NODE_OPTIONS: `${threadCpuPreload} ${args['berth-node-options']}`.trim(),
        BERTH_BENCH_CPU_FILE: cpuFile,
      };
      const ran = ensureBundle(checkout);
      const sample = await timed([bin, '--root', dir, 'pull', target.ref], join(scratch, 'berth.log'), env);
      sample.mainCpuSeconds = Number(readFileSync(cpuFile, 'utf8'));
      sample.ran = ran;
      // Untimed check: the image is listed (its record is written only after every layer committed).
      if (!sh(bin, ['--root', dir, 'images']).includes(target.ref.replace(/:latest$/, ''))) {
        throw new Error(`${name}: ${target.ref} not listed after the pull`);
      }
      return sample;
    },
  };
}

const berth = berthContender('berth', repoRoot);

/**
 * containerd's config: its own root (loop fs), state and sockets; no CRI (ctr does not need it), or,
 * for containerd-cri, `cri`'s CRI plugin section instead.
 */
function containerdConfig(dir: string, state: string, cri?: string): string {
  return `version = 2
root = ${JSON.stringify(join(dir, 'root'))}
state = ${JSON.stringify(state)}
${cri === undefined ? 'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n' : ''}[grpc]
  address = ${JSON.stringify(join(state, 'containerd.sock'))}
[ttrpc]
  address = ${JSON.stringify(join(state, 'containerd.sock.ttrpc'))}
[debug]
  address = ""
  level = "warn"
[metrics]
  address = ""
${cri ?? ''}`;
}

/**
 * The CRI plugin's section for containerd-cri. Its root and state default to io.containerd.grpc.v1.cri
 * under containerd's (so on the loop fs, and in the scratch dir); pulls use overlayfs like ctr's; a
 * certs.d marks the bench's registry as plain HTTP; CNI points at an empty dir (no pods here) and the
 * stream server at a free port, so nothing is shared with another containerd on the machine.
 */
function criSection(certsDir: string, cniDir: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const q = JSON.stringify;
  return `[${cri}]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [${cri}.cni]
    bin_dir = ${q(cniDir)}
    conf_dir = ${q(cniDir)}
  [${cri}.containerd]
    snapshotter = "overlayfs"
  [${cri}.registry]
    config_path = ${q(certsDir)}
`;
}

/** utime + stime of a live process so far, s (proc(5): fields 14 and 15, in clock ticks of 1/100 s). */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? Number.NaN);
}

/**
 * containerd timed through `ctr images pull --plain-http` (CRI disabled), or, as containerd-cri,
 * through `crictl pull` to its CRI plugin (namespace k8s.io, registry made plain HTTP by certs.d).
 */
function containerdContender(name: 'containerd' | 'containerd-cri'): Contender {
  const viaCri = name === 'containerd-cri';
  const namespace = viaCri ? 'k8s.io' : 'bench';
  return {
    name,
    async run(target, dir, scratch) {
      // A fresh daemon per run on a fresh root: nothing cached between runs (runOnce removes the
      // store afterwards, content and snapshots alike). Its state (sockets) lives in the scratch dir,
      // whose path is short enough for a unix socket.
      const state = join(scratch, 'ctd');
      mkdirSync(state, { recursive: true });
      let cri: string | undefined;
      if (viaCri) {
        const host = target.ref.slice(0, target.ref.indexOf('/'));
        const certsDir = join(scratch, 'certs.d');
        mkdirSync(join(certsDir, host), { recursive: true });
        writeFileSync(
          join(certsDir, host, 'hosts.toml'),
          `server = "http://${host}"\n\n[host."http://${host}"]\n  capabilities = ["pull", "resolve"]\n`,
        );
        const cniDir = join(scratch, 'cni');
        mkdirSync(cniDir);
        cri = criSection(certsDir, cniDir);
      }
      const config = join(scratch, 'containerd.toml');
      writeFileSync(config, containerdConfig(dir, state, cri));
      const sock = join(state, 'containerd.sock');
      const endpoint = `unix://${sock}`;
      const crictlArgv = (...argv: string[]): string[] => [
        crictl as string,
        '--runtime-endpoint',
        endpoint,
        '--image-endpoint',
        endpoint,
        '--timeout',
        '60s',
        ...argv,
      ];
      const logFd = openSync(join(scratch, 'containerd.log'), 'w');
      const daemon = spawn('containerd', ['--config', config], { stdio: ['ignore', logFd, logFd] });
      closeSync(logFd);
      live.add(daemon);
      try {
        const deadline = Date.now() + daemonStartDeadlineMs;
        for (;;) {
          if (daemon.exitCode !== null) throw new Error(`containerd exited ${daemon.exitCode}`);
          try {
            sh('ctr', ['-a', sock, 'version']);
            // containerd-cri: its image service answers too.
            if (viaCri) {
              const [cmd, ...argv] = crictlArgv('images');
              sh(cmd as string, argv);
            }
            break;
          } catch (err) {
            if (Date.now() > deadline) throw new Error(`containerd did not start`, { cause: err });
            await sleep(50);
          }
        }
        const pid = daemon.pid as number;
        // clear_refs 5 resets VmHWM to the current RSS (proc(5)): VmHWM after the pull is its peak.
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
        const daemonCpu = cpuSecondsOf(pid);
        const sample = await timed(
          viaCri
            ? crictlArgv('pull', target.ref)
            : ['ctr', '-a', sock, '-n', 'bench', 'images', 'pull', '--plain-http', target.ref],
          join(scratch, viaCri ? 'crictl.log' : 'ctr.log'),
        );
        sample.daemonKiB = statusKiB(pid, 'VmHWM');
        // The daemon does the work; ctr (crictl) only asks.
        sample.cpuSeconds += cpuSecondsOf(pid) - daemonCpu;
        // Untimed check that the pull unpacked (not only fetched): one committed snapshot per layer.
        const snapshots =
          sh('ctr', ['-a', sock, '-n', namespace, 'snapshots', 'ls']).trim().split('\n').length - 1;
        if (snapshots !== target.image.layers.length) {
          throw new Error(
            `${name}: ${snapshots} snapshots after the pull, expected ${target.image.layers.length}`,
          );
        }
        return sample;
      } finally {
        await stopChild(daemon);
      }
    },
  };
}

const containerd = containerdContender('containerd');

const podman: Contender = {
  name: 'podman',
  async run(target, dir, scratch) {
    const runroot = join(scratch, 'podman-run');
    // containers/image stages each blob in a temp dir (TMPDIR, default /var/tmp) before applying it:
    // kept on the loop fs like the rest of its store.
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp, { recursive: true });
    const storageConf = join(scratch, 'storage.conf');
    // podman refuses a storage.conf without runroot and graphroot, even with --root and --runroot.
    writeFileSync(
      storageConf,
      `[storage]\ndriver = "overlay"\nrunroot = ${JSON.stringify(runroot)}\ngraphroot = ${JSON.stringify(join(dir, 'root'))}\n`,
    );
    const registriesConf = join(scratch, 'registries.conf');
    writeFileSync(registriesConf, '');
    const env = {
      ...process.env,
      TMPDIR: tmp,
      CONTAINERS_STORAGE_CONF: storageConf,
      CONTAINERS_REGISTRIES_CONF: registriesConf,
    };
    const podmanArgs = [
      '--root',
      join(dir, 'root'),
      '--runroot',
      runroot,
      '--tmpdir',
      join(scratch, 'libpod-tmp'),
      '--storage-driver',
      'overlay',
      '--cgroup-manager',
      'cgroupfs',
      '--events-backend',
      'none',
    ];
    // The store is initialised first, untimed (overlay's feature probes run once per store).
    execFileSync('podman', [...podmanArgs, 'images'], { env, stdio: 'ignore' });
    const sample = await timed(
      ['podman', ...podmanArgs, 'pull', '--tls-verify=false', '--quiet', target.ref],
      join(scratch, 'podman.log'),
      env,
    );
    // Untimed check that every layer was applied: overlay/<id>/diff per layer (`l` holds short links).
    const layers = readdirSync(join(dir, 'root', 'overlay'), { withFileTypes: true }).filter(
      (d) => d.isDirectory() && d.name !== 'l',
    ).length;
    if (layers !== target.image.layers.length) {
      throw new Error(
        `podman: ${layers} overlay layers after the pull, expected ${target.image.layers.length}`,
      );
    }
    return sample;
  },
};

/**
 * The floor: per layer one shell pipeline, all at once, doing only what any pull must do (fetch,
 * hash, decompress, extract) with the fastest standard tools. sha256sum reads a fifo that tee
 * fills, so `wait` covers it too (a `>(…)` process substitution is not waited for).
 */
function floorScript(target: Target, dir: string): string {
  const repo = target.ref.replace(/^[^/]+\//, '').replace(/:[^:/]+$/, '');
  const lines = ['set -eu', 'pids=""'];
  target.image.layers.forEach((layer, i) => {
    const out = join(dir, `layer${i}`);
    const fifo = join(dir, `layer${i}.fifo`);
    const decompress = layer.compression === 'zstd' ? 'zstd -dc' : 'pigz -dc';
    lines.push(
      `mkdir ${out}; mkfifo ${fifo}`,
      `sha256sum < ${fifo} > ${out}.sha256 & pids="$pids $!"`,
      `( curl -sSf ${target.registryUrl}/v2/${repo}/blobs/${layer.digest} | tee ${fifo} | ${decompress} | tar -x --numeric-owner -C ${out} ) & pids="$pids $!"`,
    );
  });
  lines.push('for p in $pids; do wait $p; done');
  return lines.join('\n');
}

const floor: Contender = {
  name: 'floor',
  async run(target, dir, scratch) {
    const sample = await timed(['bash', '-c', floorScript(target, dir)], join(scratch, 'floor.log'));
    // Checked after the clock stopped: the floor must have fetched the right bytes too.
    target.image.layers.forEach((layer, i) => {
      const sum = readFileSync(join(dir, `layer${i}.sha256`), 'utf8').split(' ')[0];
      if (`sha256:${sum}` !== layer.digest) throw new Error(`floor: layer ${i} hashed to ${sum}`);
    });
    return sample;
  },
};

const allContenders: Record<ContenderName, Contender> = {
  berth,
  baseline: berthContender('baseline', args.baseline ?? repoRoot),
  containerd,
  'containerd-cri': containerdContender('containerd-cri'),
  podman,
  floor,
};

// ---- statistics and the table ----

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function table(results: Map<BenchImageName, Map<ContenderName, Sample[]>>): string {
  const rows = [
    '| image | contender | median s | min–max s | × floor | × containerd | CPU s | peak RSS MB |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const [image, byContender] of results) {
    const med = (c: ContenderName): number | undefined => {
      const samples = byContender.get(c);
      return samples === undefined ? undefined : median(samples.map((s) => s.seconds));
    };
    const floorMed = med('floor');
    const ctdMed = med('containerd');
    for (const [name, samples] of byContender) {
      const secs = samples.map((s) => s.seconds);
      const m = median(secs);
      const ratio = (base: number | undefined): string => (base === undefined ? '' : (m / base).toFixed(2));
      const rss = median(samples.map((s) => s.rssKiB)) / 1024;
      const cpu = median(samples.map((s) => s.cpuSeconds));
      const daemon = samples[0]?.daemonKiB;
      const rssText =
        name === 'floor'
          ? `(${rss.toFixed(0)} per process)`
          : daemon === undefined
            ? rss.toFixed(0)
            : `${name === 'containerd-cri' ? 'crictl' : 'ctr'} ${rss.toFixed(0)} + daemon ${(median(samples.map((s) => s.daemonKiB ?? 0)) / 1024).toFixed(0)}`;
      rows.push(
        `| ${image} | ${name} | ${m.toFixed(2)} | ${Math.min(...secs).toFixed(2)}–${Math.max(...secs).toFixed(2)} | ${ratio(floorMed)} | ${ratio(ctdMed)} | ${cpu.toFixed(2)} | ${rssText} |`,
      );
    }
  }
  return rows.join('\n');
}

// ---- main ----

async function pushImages(
  selected: BenchImage[],
): Promise<{ url: string; refs: Map<BenchImageName, string>; logPath: string }> {
  // The harness registers its hooks in the order node:test runs them (stop the registry, then remove
  // its storage): kept as one entry of the LIFO stack so that order holds.
  const hooks: (() => unknown)[] = [];
  cleanups.push(async () => {
    for (const fn of hooks) await fn();
  });
  const registry = await startRegistry({ after: (fn: () => unknown) => hooks.push(fn) }, { auth: 'none' });
  const refs = new Map<BenchImageName, string>();
  for (const image of selected) {
    const ref = `${registry.host}/bench/${image.name}:latest`;
    // --preserve-digests: without it containers/image consults root's blob info cache
    // (/var/lib/containers/cache) and, finding the same diffID pushed as gzip for multi-gzip, would
    // reuse those blobs, so "multi-zstd" in the registry would silently be gzip.
    await skopeoCopy(layoutReference(image), `docker://${ref}`, { preserveDigests: true });
    const res = await fetch(`${registry.url}/v2/bench/${image.name}/manifests/latest`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const manifest = (await res.json()) as { layers: { digest: string }[] };
    const served = manifest.layers.map((l) => l.digest).join(',');
    if (served !== image.layers.map((l) => l.digest).join(',')) {
      throw new Error(`registry serves other layers for ${image.name} than were built: ${served}`);
    }
    refs.set(image.name, ref);
  }
  return { url: registry.url, refs, logPath: registry.logPath };
}

/** One run of one contender in fresh directories, removed afterwards (untimed). */
async function runOnce(contender: Contender, target: Target, mnt: string, n: string): Promise<Sample> {
  const dir = join(mnt, `${contender.name}-${n}`);
  // Scratch (logs, sockets, runroot) outside the loop fs, with a short path for unix sockets.
  const scratch = mkdtempSync(`/run/berth-bench-${contender.name}-`);
  mkdirSync(dir);
  // Dirty pages of the previous run are written out first, so no run pays for another's writeback.
  sh('sync', []);
  try {
    return await contender.run(target, dir, scratch);
  } finally {
    unmountBelow(dir);
    rmSync(dir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function bench(): Promise<void> {
  const built = await ensureImages(work, log);
  const selected = built.filter((i) => images.includes(i.name));
  const { url, refs, logPath: registryLog } = await pushImages(selected);
  const mnt = mountLoopFs();
  log(`stores on ${mnt} (ext4, journaled, loop); ${warmup} warm-up + ${runs} runs per image × contender`);
  const results = new Map<BenchImageName, Map<ContenderName, Sample[]>>();
  for (const image of selected) {
    const target: Target = { image, ref: refs.get(image.name) as string, registryUrl: url };
    const byContender = new Map<ContenderName, Sample[]>(contenders.map((c) => [c, []]));
    results.set(image.name, byContender);
    // Interleaved (one run of each contender, then the next round) so that drift in the machine's
    // speed spreads over all of them; warm-up rounds fill page and compile caches and are dropped.
    for (let round = 0; round < warmup + runs; round++) {
      for (const name of contenders) {
        let sample: Sample;
        try {
          sample = await runOnce(allContenders[name], target, mnt, `${image.name}-${round}`);
        } catch (err) {
          // One retry, reported: a single flaky run should not throw away minutes of results.
          log(`${image.name} ${name} #${round} failed, retrying once: ${(err as Error).message.slice(-600)}`);
          log(`registry log (tail):\n${readFileSync(registryLog, 'utf8').slice(-1500)}`);
          sample = await runOnce(allContenders[name], target, mnt, `${image.name}-${round}-retry`);
        }
        const kept = round >= warmup;
        const main =
          sample.mainCpuSeconds === undefined ? '' : ` (main thread ${sample.mainCpuSeconds.toFixed(2)})`;
        log(
          `${image.name} ${name} #${round}${kept ? '' : ' (warm-up)'}: ${sample.seconds.toFixed(2)} s, CPU ${sample.cpuSeconds.toFixed(2)} s${main}, ${(sample.rssKiB / 1024).toFixed(0)} MB${sample.daemonKiB === undefined ? '' : ` (daemon ${(sample.daemonKiB / 1024).toFixed(0)} MB)`}`,
        );
        if (kept) byContender.get(name)?.push(sample);
      }
    }
  }
  const sizes = selected
    .map(
      (i) =>
        `${i.name}: ${i.layers.length} layers, ${i.entries} entries, ${(i.uncompressedBytes / 1e6).toFixed(0)} MB of files, ${(i.layers.reduce((n, l) => n + l.size, 0) / 1e6).toFixed(0)} MB compressed`,
    )
    .join('\n');
  process.stdout.write(`${sizes}\n\n${table(results)}\n${berthThreads(results)}`);
}

/** berth's CPU split: the main thread (CLI, HTTP, ingest writes, feeding workers) and the rest. */
function berthThreads(results: Map<BenchImageName, Map<ContenderName, Sample[]>>): string {
  const rows = [
    '| image | contender | berth CPU s | main thread CPU s | other threads CPU s |',
    '|---|---|---|---|---|',
  ];
  let bundled = 0;
  let all = 0;
  for (const [image, byContender] of results) {
    for (const name of ['berth', 'baseline'] as const) {
      const samples = byContender.get(name);
      if (samples === undefined || samples.length === 0) continue;
      const cpu = median(samples.map((s) => s.cpuSeconds));
      const main = median(samples.map((s) => s.mainCpuSeconds ?? 0));
      rows.push(
        `| ${image} | ${name} | ${cpu.toFixed(2)} | ${main.toFixed(2)} | ${(cpu - main).toFixed(2)} |`,
      );
      bundled += samples.filter((s) => s.ran === 'bundle').length;
      all += samples.length;
    }
  }
  if (rows.length === 2) return '';
  return `\n${rows.join('\n')}\n\nberth ran its bundle (dist/) in ${bundled} of ${all} measured runs, the sources in the rest.\n`;
}

/** berth's pull of one image (many-files unless --images names one) under V8's sampling profiler. */
async function profile(): Promise<void> {
  const built = await ensureImages(work, log);
  // The one image named by --images, else many-files.
  const name = images.length === 1 ? images[0] : 'many-files';
  const image = built.find((i) => i.name === name) as BenchImage;
  const { url, refs } = await pushImages([image]);
  const mnt = mountLoopFs();
  const target: Target = { image, ref: refs.get(image.name) as string, registryUrl: url };
  // One unprofiled pull first: the compile cache and the registry's blobs are warm for the measured one.
  await runOnce(berth, target, mnt, 'warm');
  const profDir = join(work, 'profile');
  rmSync(profDir, { recursive: true, force: true });
  mkdirSync(profDir, { recursive: true });
  const dir = join(mnt, 'berth-profile');
  mkdirSync(dir);
  sh(berthBin, ['--root', dir, 'images']);
  sh('sync', []);
  // Worker threads inherit the main thread's execArgv, so each unpack worker writes its own profile.
  const env = {
    ...process.env,
    NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir} --cpu-prof-interval=250`,
  };
  const ran = ensureBundle(repoRoot);
  const sample = await timed([berthBin, '--root', dir, 'pull', target.ref], join(profDir, 'berth.log'), env);
  log(
    `profiled pull (${ran === 'bundle' ? 'the bundle' : 'from the sources'}): ${sample.seconds.toFixed(2)} s, peak RSS ${(sample.rssKiB / 1024).toFixed(0)} MB`,
  );
  const files = readdirSync(profDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(profDir, f));
  process.stdout.write(`${summarizeProfiles(files)}\nprofiles kept in ${profDir}\n`);
  if (!existsSync('/usr/bin/perf')) return;
  // perf sees what V8's profiler cannot: libuv's pool threads (inflate, sha256 of the ingest, file
  // writes of the ingest) and the kernel side of every syscall. --perf-basic-prof names JIT frames.
  const perfDir = join(mnt, 'berth-perf');
  mkdirSync(perfDir);
  sh(berthBin, ['--root', perfDir, 'images']);
  sh('sync', []);
  const perfData = join(profDir, 'perf.data');
  const perfEnv = { ...process.env, NODE_OPTIONS: '--perf-basic-prof' };
  const perfArgv = ['perf', 'record', '-q', '-F', '999', '-g', '-o', perfData, '--'];
  ensureBundle(repoRoot);
  const perfSample = await timed(
    [...perfArgv, berthBin, '--root', perfDir, 'pull', target.ref],
    join(profDir, 'perf.log'),
    perfEnv,
  );
  log(`pull under perf: ${perfSample.seconds.toFixed(2)} s`);
  const report = (sort: string, limit: number): string =>
    execFileSync('perf', ['report', '-i', perfData, '--no-children', '--sort', sort, '--stdio', '-q'], {
      encoding: 'utf8',
      maxBuffer: 256 << 20,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .filter((l) => /^\s+\d/.test(l))
      .slice(0, limit)
      .join('\n');
  process.stdout.write(`\nperf, CPU samples by thread:\n${report('comm', 15)}\n`);
  process.stdout.write(`\nperf, by thread and symbol:\n${report('comm,dso,sym', 40)}\n`);
}

try {
  if (process.getuid?.() !== 0) throw new Error('bench/pull.ts needs root (loop mounts, overlay, chown)');
  ensureTools();
  mkdirSync(work, { recursive: true });
  if (args.profile) await profile();
  else await bench();
} finally {
  await runCleanups();
}
