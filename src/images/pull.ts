// The pull pipeline (design.md "Data flow: Pull"): reference → resolve → manifest/index (platform
// match) → config → every layer at once, each in ONE pass: the registry's bytes are written to the
// content ingest and fed to the unpacker, which hashes them, decompresses, hashes the tar (diffID)
// and applies it to the layer's own snapshot directory. A blob and a snapshot are committed only
// after digest, size and diffID verify; the image record only when every layer has.
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, NotFoundError } from '../errdefs/index.ts';
import type { LeaseStore, Metadata } from '../metadata/index.ts';
import {
  checkSizeLimit,
  type Descriptor,
  formatPlatform,
  hostPlatform,
  type ImageConfig,
  MAX_MANIFEST_SIZE,
  type Manifest,
  type Platform,
  parseManifestOrIndex,
  platformMatcher,
  readLimited,
  selectManifest,
  validateImageConfig,
} from '../oci/image/index.ts';
import { formatReference, manifestTarget, parseReference } from '../reference/index.ts';
import type { RegistryClient } from '../registry/index.ts';
import type { Snapshotter } from '../snapshot/types.ts';
import { chainIDs } from './chain-id.ts';
import { gcLabelsForConfig, gcLabelsForIndex, gcLabelsForManifest } from './gc-labels.ts';
import type { PullContent } from './pull-content.ts';
import type { ProgressListener, PulledImage } from './types.ts';
import { type ApplyLayer, unpackLayers } from './unpack-layers.ts';

// The per-layer unpack (shared with `berth image import`) lives in unpack-layers.ts.
export type { ApplyLayer } from './unpack-layers.ts';

export interface PullDeps {
  registry: RegistryClient;
  content: PullContent;
  metadata: Metadata;
  snapshotter: Snapshotter;
  applyLayer: ApplyLayer;
  maxConcurrentDownloads: number;
  maxConfigSize: number;
}

export interface PullOptions {
  platform?: Platform;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/**
 * How long a pull's lease protects what it wrote if the process dies mid-pull (then GC may sweep).
 * While the pull runs the lease is renewed (keepLeaseAlive), so a pull may take longer than this.
 */
export const pullLeaseLifetimeMs = 60 * 60 * 1000;

/**
 * Pulls `refText`. Everything the pull reads or writes (blobs, extract and committed snapshots) is
 * added to its lease *before* it is looked at or created, so a garbage collection running at the
 * same time either sees the lease and keeps it, or ran before and the pull finds it absent and
 * fetches it again (src/images/gc.ts). The lease goes when the image record exists.
 */
export async function pullImage(
  deps: PullDeps,
  refText: string,
  options: PullOptions = {},
): Promise<PulledImage> {
  const leaseID = `pull-${randomBytes(8).toString('hex')}`;
  deps.metadata.leases.create({ id: leaseID, expires: new Date(Date.now() + pullLeaseLifetimeMs) });
  const renewal = keepLeaseAlive(deps.metadata.leases, leaseID, pullLeaseLifetimeMs);
  // Manifests and the config are stored (a write, an fsync, a rename) while the pull goes on: all
  // of them have finished before the image record is written, and before a failed pull returns.
  const stores: Promise<void>[] = [];
  try {
    return await pullLeased(deps, refText, options, leaseID, stores);
  } finally {
    await Promise.allSettled(stores);
    renewal.stop();
    deps.metadata.leases.delete(leaseID);
  }
}

/**
 * Keeps lease `id` from expiring while an operation runs: every third of `lifetimeMs` its expiry
 * moves to `lifetimeMs` from then, so GC never takes a live pull's blobs for a dead one's, however
 * long the pull (a slow link, a huge image) — the lifetime only bounds how long a *dead* pull's
 * leftovers are kept. A renewal that fails (the database busy past its timeout) is tried again at the
 * next tick, with two thirds of the lifetime still left; one that finds the lease gone (collected
 * while this process was stopped for longer than the lifetime) stops renewing, and the pull fails
 * when it next adds a resource to it. The timer never keeps the process alive.
 */
export function keepLeaseAlive(
  leases: Pick<LeaseStore, 'renew'>,
  id: string,
  lifetimeMs: number,
  now: () => number = Date.now,
): { stop(): void } {
  const timer = setInterval(() => {
    try {
      leases.renew(id, new Date(now() + lifetimeMs));
    } catch (err) {
      if (err instanceof NotFoundError) clearInterval(timer);
    }
  }, lifetimeMs / 3);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

async function pullLeased(
  deps: PullDeps,
  refText: string,
  options: PullOptions,
  leaseID: string,
  stores: Promise<void>[],
): Promise<PulledImage> {
  const { registry, content, metadata } = deps;
  const signal = options.signal;
  const progress: ProgressListener = options.onProgress ?? (() => undefined);
  const ref = parseReference(refText);
  const name = formatReference(ref);
  const host = ref.domain;
  const repo = ref.path;
  const platform = options.platform ?? hostPlatform();

  // The unpack workers start now, in parallel with resolve, manifest and config (~0.1–0.2 s of
  // start-up each on a small machine): the first layer's bytes find them ready.
  deps.applyLayer.warm?.(deps.maxConcurrentDownloads);
  progress({ id: name, kind: 'index', phase: 'resolving', current: 0, total: 0 });
  const target = await registry.resolve(host, repo, manifestTarget(ref), { signal });
  const top = await fetchDocument(deps, leaseID, host, repo, target, signal, stores);
  let manifestDesc = target;
  let manifest: Manifest;
  if (top.kind === 'index') {
    manifestDesc = selectManifest(top.index, platform, name);
    const chosen = await fetchDocument(deps, leaseID, host, repo, manifestDesc, signal, stores);
    if (chosen.kind !== 'manifest') {
      throw new InvalidArgumentError(
        `${name}: index entry ${manifestDesc.digest} is an index, not an image manifest`,
      );
    }
    manifest = chosen.manifest;
  } else {
    manifest = top.manifest;
  }
  const config = await fetchConfig(deps, leaseID, host, repo, manifest.config, signal, stores);
  const diffIDs = config.rootfs.diff_ids;
  if (diffIDs.length !== manifest.layers.length) {
    throw new InvalidArgumentError(
      `${name}: manifest ${manifestDesc.digest} has ${manifest.layers.length} layers but its config lists ${diffIDs.length} diff_ids`,
    );
  }
  const chain = chainIDs(diffIDs);
  const configPlatform: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant !== undefined) configPlatform.variant = config.variant;
  // A single-manifest image (or an index entry without a platform) says its platform only in the
  // config: refuse one this host (or --platform) cannot run, as containerd does.
  if (!platformMatcher(platform).match(configPlatform)) {
    throw new NotFoundError(
      `${name}: image is ${formatPlatform(configPlatform)}, not ${formatPlatform(platform)}`,
      {
        hint: 'choose another platform with --platform',
      },
    );
  }
  await unpackLayers(deps, {
    // verify: false — the unpacker hashes every byte (held ones included) and the ingest checks again
    // at commit; the registry client's own check would see only the tail after a resume.
    fetch: (layer, offset, signal) =>
      registry.fetchBlob(host, repo, layer, {
        offset,
        verify: false,
        ...(signal === undefined ? {} : { signal }),
      }),
    name,
    layers: manifest.layers,
    diffIDs,
    chain,
    leaseID,
    progress,
    signal,
  });
  await Promise.all(stores);
  metadata.transaction(() => {
    if (top.kind === 'index') metadata.content.set(target.digest, gcLabelsForIndex(top.index));
    metadata.content.set(manifestDesc.digest, gcLabelsForManifest(manifest));
    metadata.content.set(manifest.config.digest, gcLabelsForConfig(deps.snapshotter.name, chain.at(-1)));
    metadata.images.put({
      name,
      target: { mediaType: target.mediaType, digest: target.digest, size: target.size },
    });
  });
  await content.setImage(name, target);
  return {
    name,
    target,
    manifest: manifestDesc,
    config: manifest.config,
    chainID: chain.at(-1) ?? '',
    platform: formatPlatform(configPlatform),
  };
}

type Document = ReturnType<typeof parseManifestOrIndex>;

/** A manifest or index: from the store when held, else from the registry (digest-verified there). */
async function fetchDocument(
  deps: PullDeps,
  leaseID: string,
  host: string,
  repo: string,
  desc: Descriptor,
  signal: AbortSignal | undefined,
  stores: Promise<void>[],
): Promise<Document> {
  deps.metadata.leases.addResource(leaseID, { type: 'content', id: desc.digest });
  // One name for the document in every error, the size refusal included (it named no registry).
  const what = `manifest ${desc.digest} of ${host}/${repo}`;
  checkSizeLimit(desc.size, MAX_MANIFEST_SIZE, what);
  let bytes: Uint8Array;
  if (await deps.content.has(desc.digest)) {
    bytes = await deps.content.readBytes(desc.digest, MAX_MANIFEST_SIZE);
  } else {
    bytes = await deps.registry.fetchManifest(host, repo, desc.digest, { signal });
  }
  const doc = parseManifestOrIndex(bytes, desc.mediaType, what);
  stores.push(inBackground(deps.content.put(desc, bytes)));
  return doc;
}

async function fetchConfig(
  deps: PullDeps,
  leaseID: string,
  host: string,
  repo: string,
  desc: Descriptor,
  signal: AbortSignal | undefined,
  stores: Promise<void>[],
): Promise<ImageConfig> {
  deps.metadata.leases.addResource(leaseID, { type: 'content', id: desc.digest });
  const what = `image config ${desc.digest} of ${host}/${repo}`;
  checkSizeLimit(desc.size, deps.maxConfigSize, what);
  let bytes: Uint8Array;
  if (await deps.content.has(desc.digest)) {
    bytes = await deps.content.readBytes(desc.digest, deps.maxConfigSize);
  } else {
    // fetchBlob verifies digest and size as the bytes arrive; readLimited stops a registry that
    // sends more than the descriptor said before it fills memory.
    const stream = await deps.registry.fetchBlob(host, repo, desc, { signal });
    bytes = await readLimited(stream, deps.maxConfigSize, what);
    stores.push(inBackground(deps.content.put(desc, bytes)));
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    if (err instanceof SyntaxError)
      throw new InvalidArgumentError(`${what}: not valid JSON: ${err.message}`, { cause: err });
    throw err;
  }
  return validateImageConfig(json, what);
}

/** A promise awaited later: until then (or if the pull fails first) its rejection is not unhandled. */
function inBackground(p: Promise<void>): Promise<void> {
  p.catch(() => undefined);
  return p;
}
