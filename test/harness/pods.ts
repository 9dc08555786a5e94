// A pod service on temp dirs with a test network: a conflist in a temp conf dir naming a bridge
// `berth-test-<4 hex>` (15 characters, the kernel's limit), a random /24 of 10.254.0.0/16 and
// host-local's data dir inside the test's dir, no masquerade, no gateway (the bridge gets no address,
// so the host's forwarding setting is never touched). The bridge is created up front (see below). After the test, even a failed one, every pod
// is removed, any veth still on the bridge deleted, the bridge deleted, and the namespaces unmounted.

import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { CniClient, DEFAULT_BIN_DIRS } from '../../src/cni/index.ts';
import { type Metadata, openMetadata } from '../../src/metadata/index.ts';
import { mountsUnder } from '../../src/mount/index.ts';
import { PodService, type RunPodRequest } from '../../src/pods/index.ts';
import { tempDir } from './tmp.ts';

export interface PodTestEnv {
  service: PodService;
  cni: CniClient;
  metadata: Metadata;
  dir: string;
  state: string;
  confDir: string;
  binDirs: string[];
  /** host-local's data dir; reservations are files under `<dataDir>/<network>`. */
  dataDir: string;
  bridge: string;
  subnet: string;
  /** `10.254.N.` */
  prefix: string;
  networkName: string;
  /** Writes the conflist with these plugins after the bridge (replacing the test network). */
  writeConflist(extra?: object[], bridgeExtra?: object): void;
}

const hex = (n: number) =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

/** Host-side interfaces enslaved to `bridge` (veths), by name. */
export function bridgePorts(bridge: string): string[] {
  const r = spawnSync('ip', ['-j', 'link', 'show', 'master', bridge], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return (JSON.parse(r.stdout || '[]') as { ifname: string }[]).map((l) => l.ifname);
}

export function linkExists(name: string): boolean {
  return spawnSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore' }).status === 0;
}

/** The IPs host-local holds reserved in `dir` (its files named by address). */
export function reservedIps(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => /^[0-9.]+$|:/.test(f));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export function podTestEnv(t: Pick<TestContext, 'after'>, opts: { binDirs?: string[] } = {}): PodTestEnv {
  const bridge = `berth-test-${hex(4)}`;
  const octet = Math.floor(Math.random() * 256);
  let env: PodTestEnv | undefined;
  // Registered before the temp dirs: after-hooks run in registration order, and pods must be taken
  // down (DEL, unmount) before their dirs are deleted.
  t.after(async () => {
    if (env !== undefined) {
      for (const p of env.service.records.list()) {
        await env.service
          .remove(p.id)
          .catch((err: unknown) => process.stderr.write(`cleanup: pod ${p.id}: ${String(err)}\n`));
      }
      for (const point of mountsUnder(env.state)) spawnSync('umount', ['-l', point]);
      env.metadata.close();
    }
    for (const port of bridgePorts(bridge)) spawnSync('ip', ['link', 'del', 'dev', port]);
    if (linkExists(bridge)) execFileSync('ip', ['link', 'del', 'dev', bridge]);
  });
  const dir = tempDir(t, 'pods');
  const state = join(dir, 'state');
  const confDir = join(dir, 'net.d');
  const dataDir = join(dir, 'cni-data');
  const binDirs = opts.binDirs ?? [...DEFAULT_BIN_DIRS];
  const networkName = `berth-test-${hex(6)}`;
  const subnet = `10.254.${octet}.0/24`;
  execFileSync('mkdir', ['-p', state, confDir]);
  const writeConflist = (extra: object[] = [], bridgeExtra: object = {}) =>
    writeFileSync(
      join(confDir, '10-test.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: networkName,
        plugins: [
          {
            type: 'bridge',
            bridge,
            isGateway: false,
            ipMasq: false,
            ipam: { type: 'host-local', dataDir, ranges: [[{ subnet }]] },
            ...bridgeExtra,
          },
          ...extra,
        ],
      }),
    );
  writeConflist();
  // The bridge is made here with a fixed MAC address rather than by the plugin: a Linux bridge
  // without one takes the lowest MAC of its ports, so it changes as pods come and go, and the bridge
  // plugin's CHECK then fails comparing it with the MAC an earlier ADD reported (a spurious CHECK
  // error of the kind the spec's `disableCheck` exists for). The plugin uses an existing bridge.
  execFileSync('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
  execFileSync('ip', [
    'link',
    'set',
    'dev',
    bridge,
    'address',
    `02:be:${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}`,
    'up',
  ]);
  const metadata = openMetadata(join(dir, 'root'));
  const cni = new CniClient({ binDirs });
  const service = new PodService({
    metadata,
    cni,
    cniConfDir: confDir,
    dirs: { state },
    delRetry: { attempts: 3, backoffMs: 50 },
  });
  env = {
    service,
    cni,
    metadata,
    dir,
    state,
    confDir,
    binDirs,
    dataDir,
    bridge,
    subnet,
    prefix: `10.254.${octet}.`,
    networkName,
    writeConflist,
  };
  return env;
}

let counter = 0;

/** A RunPodSandbox request with unique metadata. */
export function podRequest(extra: Partial<RunPodRequest> = {}): RunPodRequest {
  counter++;
  return {
    metadata: {
      name: `berth-test-pod${counter}`,
      namespace: 'default',
      uid: `uid-${process.pid}-${counter}-${hex(4)}`,
      attempt: 0,
    },
    ...extra,
  };
}

/** Runs `argv` inside the namespace file(s) given, e.g. `inNs({ net: f }, 'ip', 'addr')`. */
export function inNs(
  ns: { net?: string; uts?: string; ipc?: string },
  ...argv: string[]
): { status: number | null; out: string } {
  const flags = Object.entries(ns).map(([k, v]) => `--${k}=${v}`);
  const r = spawnSync('nsenter', [...flags, ...argv], { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
