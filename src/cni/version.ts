// CNI protocol versions: which ones berth speaks, how the version of a network configuration is chosen
// (spec section 1 "Version considerations": the highest of `cniVersion` and `cniVersions` the runtime
// supports), and which operations each version has. berth speaks the versions with the rich result
// type (0.3.0 and later, section 5); 0.1.0/0.2.0 results (`ip4`/`ip6`) are not read.

import { InvalidArgumentError } from '../errdefs/index.ts';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** The version berth writes in the configs it makes (Debian 12's plugins speak up to 1.0.0). */
export const DEFAULT_CNI_VERSION = '1.0.0';

const semver = /^(\d+)\.(\d+)\.(\d+)$/;

export function parseVersion(v: string): [number, number, number] | undefined {
  const m = semver.exec(v);
  if (m === null) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** <0, 0, >0 as `a` is older than, equal to or newer than `b`; both must parse. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (x === undefined || y === undefined) {
    throw new InvalidArgumentError(`cni version ${JSON.stringify(x === undefined ? a : b)}: not x.y.z`);
  }
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

export function isSupported(v: string): boolean {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/**
 * The version to speak for a configuration: the highest of `cniVersion` and `cniVersions` that berth
 * supports, or undefined when there is none (the configuration is then not valid for berth).
 */
export function selectVersion(cniVersion: string, cniVersions: readonly string[] = []): string | undefined {
  const candidates = [cniVersion, ...cniVersions].filter(isSupported);
  return candidates.sort(compareVersions).at(-1);
}

/** prevResult exists from 0.3.0 (plugin chaining) for ADD; DEL gets it from 0.4.0 (spec-v0.4.0 notes). */
export function delTakesPrevResult(v: string): boolean {
  return compareVersions(v, '0.4.0') >= 0;
}

/** CHECK was introduced in 0.4.0. */
export function hasCheck(v: string): boolean {
  return compareVersions(v, '0.4.0') >= 0;
}

/** STATUS (and GC) came with 1.1.0. */
export function hasStatus(v: string): boolean {
  return compareVersions(v, '1.1.0') >= 0;
}
