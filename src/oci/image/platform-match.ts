// Matching platforms and choosing an index's best manifest, as containerd's platforms.Only does
// (platforms/compare.go): a host runs its own platform first, then the older ones its CPU also
// executes, in order of preference: arm64 → arm/v8 → arm/v7 → arm/v6 → arm/v5; arm/v7 → v6 → v5;
// amd64/v3 → v2 → v1 → 386; arm64/v8.2 → v8.1 → v8 → arm/v8 …

import { NotFoundError } from '../../errdefs/index.ts';
import { indexMediaTypes, manifestMediaTypes } from './media-types.ts';
import { formatPlatform, normalizePlatform } from './platform.ts';
import type { Descriptor, Index, Platform } from './types.ts';

export interface PlatformMatcher {
  /** The wanted platform, normalised. */
  readonly platform: Platform;
  /** True when an image for `p` runs on the wanted platform. */
  match(p: Platform): boolean;
  /** 0 for the wanted platform itself, higher for each fallback, Infinity when `p` does not match. */
  rank(p: Platform): number;
}

function versionOf(variant: string | undefined): number {
  const m = /^v?(\d+)$/.exec(variant ?? '');
  return m === null ? Number.NaN : Number(m[1]);
}

/** The platforms `p` runs, best first (compare.go platformVector); `p` should be normalised. */
export function platformVector(p: Platform): Platform[] {
  const like = (architecture: string, variant?: string): Platform => {
    const out: Platform = { ...p, architecture };
    if (variant === undefined) delete out.variant;
    else out.variant = variant;
    return out;
  };
  const vector: Platform[] = [p];
  if (p.architecture === 'amd64') {
    // amd64 micro-architecture levels v2…v4 each run everything below them; all run 386 binaries.
    for (let v = versionOf(p.variant) - 1; v >= 1; v--)
      vector.push(like('amd64', v === 1 ? undefined : `v${v}`));
    vector.push(like('386'));
  } else if (p.architecture === 'arm') {
    for (let v = versionOf(p.variant) - 1; v >= 5; v--) vector.push(like('arm', `v${v}`));
  } else if (p.architecture === 'arm64') {
    let variant = p.variant ?? 'v8';
    const m = /^v(\d+)(?:\.(\d+))?$/.exec(variant);
    let major = Number(m?.[1] ?? Number.NaN);
    let minor = Number(m?.[2] ?? 0);
    if (major >= 8) {
      if (major === 9) {
        for (let n = minor - 1; n >= 0; n--) vector.push(like('arm64', n === 0 ? 'v9' : `v9.${n}`));
        // Armv9.x is a superset of Armv8.(x+5).
        minor += 5;
        major = 8;
        vector.push(like('arm64', `v8.${minor}`));
      }
      for (let n = minor - 1; n >= 0; n--) {
        // `v8` is written as no variant (normalizeArch); other majors keep theirs.
        const base = major === 8 ? undefined : `v${major}`;
        vector.push(like('arm64', n === 0 ? base : `v${major}.${n}`));
      }
    }
    if (variant.startsWith('v8.') || variant.startsWith('v9.')) variant = 'v8';
    // AArch64 CPUs run 32-bit arm code too (most of them; containerd assumes all do).
    vector.push(...platformVector(like('arm', variant)));
  }
  return vector;
}

/** Equal os, architecture and variant once normalised; the candidate's os.features a subset of ours. */
function same(want: Platform, p: Platform): boolean {
  const have = normalizePlatform(p);
  if (have.os !== want.os || have.architecture !== want.architecture || have.variant !== want.variant)
    return false;
  const features = new Set(want['os.features'] ?? []);
  return (have['os.features'] ?? []).every((f) => features.has(f));
}

/**
 * A matcher for images that run on `platform`: by default also the older variants it executes
 * (containerd's platforms.Only); with `strict`, only the platform itself (platforms.OnlyStrict).
 */
export function platformMatcher(platform: Platform, options: { strict?: boolean } = {}): PlatformMatcher {
  const wanted = normalizePlatform(platform);
  const vector = (options.strict === true ? [wanted] : platformVector(wanted)).map(normalizePlatform);
  const rank = (p: Platform) => {
    const i = vector.findIndex((v) => same(v, p));
    return i < 0 ? Number.POSITIVE_INFINITY : i;
  };
  return { platform: wanted, rank, match: (p) => rank(p) !== Number.POSITIVE_INFINITY };
}

// BuildKit stores provenance and SBOM attestations in the index as manifests of platform
// unknown/unknown, marked with this annotation; they are never an image to run.
const referenceTypeAnnotation = 'vnd.docker.reference.type';

function isAttestation(d: Descriptor): boolean {
  return d.annotations?.[referenceTypeAnnotation] === 'attestation-manifest';
}

function isImageOrIndex(d: Descriptor): boolean {
  return (
    (manifestMediaTypes.includes(d.mediaType) || indexMediaTypes.includes(d.mediaType)) && !d.artifactType
  );
}

/**
 * The index's manifests that may run on the matcher's platform, best first; ties keep index order.
 * As in containerd (core/images Manifest), an image entry with no platform is kept, after every
 * match: the caller must check the platform in that image's config before using it.
 */
export function matchingManifests(index: Index, matcher: PlatformMatcher): Descriptor[] {
  const ranked: { d: Descriptor; rank: number }[] = [];
  for (const d of index.manifests) {
    if (isAttestation(d)) continue;
    if (d.platform === undefined) {
      if (isImageOrIndex(d)) ranked.push({ d, rank: Number.MAX_SAFE_INTEGER });
    } else {
      const rank = matcher.rank(d.platform);
      if (rank !== Number.POSITIVE_INFINITY) ranked.push({ d, rank });
    }
  }
  return ranked.sort((a, b) => a.rank - b.rank).map((r) => r.d);
}

/**
 * The best manifest of an index for `platform`, or NotFoundError listing what the index offers:
 * `no manifest for linux/s390x in index sha256:…; it offers linux/amd64, linux/arm64/v8`.
 * `what` names the index (`index sha256:…`, or `docker.io/library/busybox:latest`).
 */
export function selectManifest(
  index: Index,
  platform: Platform | PlatformMatcher,
  what = 'index',
): Descriptor {
  const matcher = 'match' in platform ? platform : platformMatcher(platform);
  const best = matchingManifests(index, matcher)[0];
  if (best !== undefined) return best;
  const offered = new Set<string>();
  for (const d of index.manifests) {
    if (d.platform !== undefined && !isAttestation(d)) offered.add(formatPlatform(d.platform));
  }
  const offers = offered.size === 0 ? 'it names no platforms' : `it offers ${[...offered].join(', ')}`;
  throw new NotFoundError(`no manifest for ${formatPlatform(matcher.platform)} in ${what}; ${offers}`);
}
