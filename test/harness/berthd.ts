// berthd for tests: the real daemon (bin/berthd) on a temp root, state and socket, with a config file
// the test writes, killed and reaped when the test ends; typed gRPC clients over its socket (connect's,
// the same codecs the server uses) and crictl v1.29 (built by scripts/install-cri-tools) when present.
// Plus the small images the CRI image tests push under names of their choosing (`markerImage`).

import assert from 'node:assert/strict';
import { type ChildProcess, type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { OciLayout } from '../../src/content/index.ts';
import { ImageService, RuntimeService } from '../../src/cri/gen/api_pb.js';
import { writeImage, writeLayer } from '../../src/imagebuild/index.ts';
import { hostPlatform, type ImageRunConfig } from '../../src/oci/image/index.ts';
import { which } from './requirements.ts';
import { tempDir } from './tmp.ts';

export const berthdBin = new URL('../../bin/berthd', import.meta.url).pathname;

/** How long berthd may take to print that it serves (it loads once: the services, then the socket). */
const startDeadlineMs = 15_000;
/** How long one crictl call may take (a pull from the loopback registry takes well under a second). */
const crictlTimeoutMs = 60_000;

/** A built cri-tools binary: $BERTH_<NAME>, then where scripts/install-cri-tools puts it, then PATH. */
function findCriTool(name: 'crictl' | 'critest'): string | undefined {
  for (const path of [process.env[`BERTH_${name.toUpperCase()}`], `/work/build/bin/${name}`]) {
    if (path !== undefined && path !== '' && existsSync(path)) return path;
  }
  return which(name);
}

export const crictl = findCriTool('crictl');
export const critest = findCriTool('critest');
export const crictlSkip =
  crictl === undefined ? 'needs crictl v1.29 (scripts/install-cri-tools builds it)' : false;

export interface BerthdOptions {
  /** Where root/, run/ and the config go (default: a fresh temp dir). */
  dir?: string;
  /** config.toml's text; the --root and --state flags are added. */
  config?: string;
}

export interface Berthd {
  proc: ChildProcess;
  dir: string;
  root: string;
  state: string;
  sock: string;
  exited: Promise<number | null>;
  stderr(): string;
  runtime: Client<typeof RuntimeService>;
  images: Client<typeof ImageService>;
}

export async function startBerthd(t: Pick<TestContext, 'after'>, opts: BerthdOptions = {}): Promise<Berthd> {
  const dir = opts.dir ?? tempDir(t, 'berthd');
  const config = join(dir, 'config.toml');
  writeFileSync(config, opts.config ?? ''); // only what the test says, whatever /etc/berth/config.toml says
  const root = join(dir, 'root');
  const state = join(dir, 'run');
  mkdirSync(state, { recursive: true });
  const sock = join(state, 'berth.sock');
  const args = ['--config', config, '--root', root, '--state', state, '--listen', `unix://${sock}`];
  const proc = spawn(berthdBin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  t.after(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGKILL');
    await exited;
  });
  for (let waited = 0; !stderr.includes('serving CRI'); waited += 20) {
    if (proc.exitCode !== null || waited > startDeadlineMs) assert.fail(`berthd did not start: ${stderr}`);
    await sleep(20);
  }
  const transport = createGrpcTransport({
    baseUrl: 'http://localhost',
    nodeOptions: { createConnection: () => connect(sock) },
  });
  return {
    proc,
    dir,
    root,
    state,
    sock,
    exited,
    stderr: () => stderr,
    runtime: createClient(RuntimeService, transport),
    images: createClient(ImageService, transport),
  };
}

/** `crictl --runtime-endpoint … --image-endpoint … args` against berthd's socket. */
export function crictlRun(d: Pick<Berthd, 'sock'>, ...args: string[]): SpawnSyncReturns<string> {
  if (crictl === undefined) throw new Error('crictl is not built');
  const endpoint = `unix://${d.sock}`;
  return spawnSync(crictl, ['--runtime-endpoint', endpoint, '--image-endpoint', endpoint, ...args], {
    encoding: 'utf8',
    timeout: crictlTimeoutMs,
  });
}

/** An OCI layout holding one image tagged `latest`, and what the registry will know it by. */
export interface MarkerImage {
  layoutDir: string;
  manifestDigest: string;
  configDigest: string;
  /** Config and layer bytes as stored: what the CRI reports as the image's size. */
  size: number;
}

/**
 * A one-layer image with the file `/<marker>` holding `marker`, so that every marker gives its own
 * image id (as critest's test-image-1/-2/-3 are three ids), and the run config `config` (User …).
 * Deterministic: the same marker and config give the same digests.
 */
export async function markerImage(
  dir: string,
  marker: string,
  config: ImageRunConfig = {},
): Promise<MarkerImage> {
  const layout = await OciLayout.create(join(dir, marker));
  const layer = await writeLayer(layout, [{ type: 'file', path: `/${marker}`, content: `${marker}\n` }], {
    createdBy: `marker ${marker}`,
  });
  const image = await writeImage(layout, { platform: hostPlatform(), layers: [layer], config });
  await layout.addManifest(image.manifest, 'latest');
  return {
    layoutDir: layout.dir,
    manifestDigest: image.manifest.digest,
    configDigest: image.config.digest,
    size: image.config.size + image.layers.reduce((n, l) => n + l.size, 0),
  };
}
