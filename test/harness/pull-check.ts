// Helpers for the pull failure tests (test/integration/pull-*.test.ts): small images built around
// hand-made layer tars (hostile entries, wrong diffIDs, configs that disagree with their manifest),
// pushed with skopeo; and a view of everything a pull may touch — image table, snapshots, blobs,
// ingests, leases, mounts and a canary directory beside the root — so that a test can assert that a
// failed pull left the host and the store as they were.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type Header, pack } from 'tar-stream';
import { OciLayout } from '../../src/content/index.ts';
import {
  type BuiltLayer,
  configMediaType,
  imageConfig,
  imageManifest,
  writeJsonBlob,
} from '../../src/imagebuild/index.ts';
import { mountsUnder } from '../../src/mount/index.ts';
import type { Descriptor, ImageConfig } from '../../src/oci/image/index.ts';
import { type TestImageServices, type TestImageServicesOptions, testImageServices } from './berth-images.ts';
import { hostPlatform } from './fixtures.ts';
import type { TestRegistry } from './registry.ts';
import { skopeoCopy } from './skopeo.ts';
import { tempDir } from './tmp.ts';

/**
 * A stand-in for a TestContext at suite level: its after() callbacks run when the suite ends, in
 * order. (node:test's after() called inside a before() hook attaches to the hook, which ends at
 * once: a registry started there would be stopped before the first test.) Call in the describe body.
 */
export function suiteContext(after: (fn: () => Promise<void>) => void): Pick<TestContext, 'after'> {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const fn of cleanups) await fn();
  });
  return { after: (fn: () => unknown) => void cleanups.push(fn) } as Pick<TestContext, 'after'>;
}

export const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** One tar entry: a tar-stream header plus its body (files only). */
export type TarSpec = { name: string; content?: string | Buffer } & Partial<Header>;

const mtime = new Date('2024-01-02T03:04:05Z');

/** A tar of the entries in order (tar-stream writes them verbatim: `..` and `/` names included). */
export async function tarOf(specs: TarSpec[]): Promise<Buffer> {
  const p = pack();
  for (const { content, ...header } of specs) p.entry({ mtime, ...header }, content ?? '');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export interface TestImage {
  layoutDir: string;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

/**
 * An OCI image layout tagged `latest` whose layers are the given tars, gzipped. `editConfig` may
 * change the config before it is stored (a wrong diffID, a diff_ids list of another length).
 */
export async function imageFromTars(
  dir: string,
  tars: Buffer[],
  editConfig: (config: ImageConfig) => void = () => undefined,
): Promise<TestImage> {
  const layout = await OciLayout.create(dir);
  const built: BuiltLayer[] = [];
  for (const tar of tars) {
    const { digest, size } = await layout.writeBlob(gzipSync(tar));
    built.push({ digest, size, diffId: sha256(tar), compression: 'gzip', createdBy: 'pull-check' });
  }
  const spec = { platform: hostPlatform(), layers: built };
  const config = imageConfig(spec);
  editConfig(config);
  const configDesc = await writeJsonBlob(layout, configMediaType('oci'), config);
  const layers = built.map(
    (l): Descriptor => ({
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: l.digest,
      size: l.size,
    }),
  );
  const manifest = await writeJsonBlob(
    layout,
    'application/vnd.oci.image.manifest.v1+json',
    imageManifest('oci', configDesc, layers),
  );
  await layout.addManifest(manifest, 'latest');
  return { layoutDir: dir, manifest, config: configDesc, layers };
}

/** Pushes a layout's `latest` as `<registry>/<repo>:latest` with skopeo, digests preserved. */
export async function pushImage(registry: TestRegistry, layoutDir: string, repo: string): Promise<string> {
  const ref = `${registry.host}/${repo}:latest`;
  const creds =
    registry.username === undefined
      ? {}
      : { creds: { username: registry.username, password: registry.password ?? '' } };
  await skopeoCopy(`oci:${layoutDir}:latest`, `docker://${ref}`, { ...creds, preserveDigests: true });
  return ref;
}

/** berth on `<base>/root`, with `<base>/canary/file` beside it: what a hostile layer must not reach. */
export interface PullSandbox {
  base: string;
  root: string;
  canary: string;
  s: TestImageServices;
}

export async function pullSandbox(
  t: Pick<TestContext, 'after'>,
  options: TestImageServicesOptions = {},
): Promise<PullSandbox> {
  const base = tempDir(t, 'pull-sandbox');
  const root = join(base, 'root');
  const canary = join(base, 'canary');
  mkdirSync(root);
  mkdirSync(canary);
  writeFileSync(join(canary, 'file'), 'canary');
  const s = await testImageServices(t, { ...options, root });
  return { base, root, canary, s };
}

/** Everything a pull may change, as comparable plain data. */
export interface StoreView {
  images: string[];
  /** `name kind parent`, sorted. */
  snapshots: string[];
  blobs: string[];
  ingests: { ref: string; offset: number; lockedBy: number | undefined }[];
  leases: string[];
  mounts: string[];
  /** The names beside the root, the canary directory with modes, sizes and contents, /etc/passwd. */
  outside: string;
}

function listOutside(sb: PullSandbox): string {
  const entries = (dir: string) =>
    readdirSync(dir)
      .sort()
      .map((n) => {
        const st = lstatSync(join(dir, n));
        const body = st.isFile() ? readFileSync(join(dir, n), 'utf8') : '';
        return `${n} ${st.mode.toString(8)} ${st.nlink} ${st.size} ${st.mtimeMs} ${body}`;
      });
  // The base's names only: the root itself changes (its mtime, a new subdirectory). /etc/passwd is
  // what a hostile hardlink aims at: a link to it would raise its nlink.
  const { mode, uid, nlink, size, mtimeMs } = lstatSync('/etc/passwd');
  return JSON.stringify({
    base: readdirSync(sb.base).sort(),
    canary: entries(sb.canary),
    passwd: [mode, uid, nlink, size, mtimeMs],
  });
}

export async function storeView(sb: PullSandbox): Promise<StoreView> {
  const { s } = sb;
  const snapshots: string[] = [];
  await s.snapshotter.walk((info) => {
    snapshots.push(`${info.name} ${info.kind} ${info.parent ?? '-'}`);
  });
  return {
    images: s.metadata.images
      .list()
      .map((i) => i.name)
      .sort(),
    snapshots: snapshots.sort(),
    blobs: (await s.content.list()).map((b) => b.digest).sort(),
    ingests: (await s.content.ingests()).map((i) => ({ ref: i.ref, offset: i.offset, lockedBy: i.lockedBy })),
    leases: s.metadata.leases
      .list()
      .map((l) => l.id)
      .sort(),
    mounts: mountsUnder(sb.root),
    outside: listOutside(sb),
  };
}

export interface UnchangedOptions {
  /** The layer whose pull failed: its blob must be absent. */
  layer?: Descriptor;
  /** Blobs the failed pull may have stored after verifying them: its manifest and config. */
  documents?: string[];
  /** Snapshots the pull may leave (`<name> committed <parent|->`): good layers below the failing one. */
  snapshots?: string[];
  /** 'none': no partial download left; 'kept': one, unlocked, for the next pull to resume. */
  ingest: 'none' | 'kept';
}

/**
 * Asserts that a failed pull changed nothing but what it may: no image, no new snapshot (committed
 * or extract-*), no lease, no mount under the root, nothing outside it, no blob that fails to
 * verify, the failing layer's blob absent, and its partial ingest as `ingest` says.
 */
export async function assertUnchanged(
  sb: PullSandbox,
  before: StoreView,
  opts: UnchangedOptions,
): Promise<StoreView> {
  const after = await storeView(sb);
  assert.deepEqual(after.images, before.images, 'no image record');
  assert.deepEqual(
    after.snapshots,
    [...before.snapshots, ...(opts.snapshots ?? [])].sort(),
    'no new snapshot, committed or extract-*, but good layers below the failing one',
  );
  assert.deepEqual(after.leases, before.leases, 'the pull lease is gone');
  assert.deepEqual(after.mounts, [], 'no mounts under the root');
  assert.equal(after.outside, before.outside, 'nothing written outside the root');
  const allowed = new Set([...before.blobs, ...(opts.documents ?? [])]);
  assert.deepEqual(
    after.blobs.filter((b) => !allowed.has(b)),
    [],
    'no blob but the verified manifest and config',
  );
  if (opts.layer !== undefined)
    assert.ok(!after.blobs.includes(opts.layer.digest), 'failing layer blob absent');
  const report = await sb.s.content.verify();
  assert.deepEqual(report.corrupt, [], 'every stored blob verifies');
  const fresh = after.ingests.filter((i) => !before.ingests.some((b) => b.ref === i.ref));
  if (opts.ingest === 'none') {
    assert.deepEqual(fresh, [], 'no partial ingest');
  } else {
    assert.equal(fresh.length, 1, `one partial ingest kept: ${JSON.stringify(after.ingests)}`);
    assert.equal(fresh[0]?.lockedBy, undefined, 'the kept ingest is unlocked');
  }
  return after;
}

/**
 * Pulls `ref` expecting a failure: `check` asserts on the error, then the store is compared with its
 * state before the pull (assertUnchanged). Returns the store as the failure left it.
 */
export async function failingPull(
  sb: PullSandbox,
  ref: string,
  check: (err: unknown) => void,
  unchanged: UnchangedOptions,
): Promise<StoreView> {
  const was = await storeView(sb);
  await assert.rejects(sb.s.images.pull(ref), (err: unknown) => {
    check(err);
    return true;
  });
  return assertUnchanged(sb, was, unchanged);
}
