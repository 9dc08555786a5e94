// Platforms: parsing the `os/arch/variant` specifiers people type, normalising the many names one
// CPU has, formatting, and the host's own platform. The names and rules are containerd's
// (platforms/platforms.go, database.go), which use Go's GOOS/GOARCH values as the image-spec says
// (image-index.md, `platform.architecture` and `platform.os`). Matching is in platform-match.ts.

import { InvalidArgumentError } from '../../errdefs/index.ts';
import type { Platform } from './types.ts';

// Go's GOOS and GOARCH lists (go/build/syslist.go), used to tell `linux` from `amd64` when a
// specifier has one component.
const knownOS = new Set(
  'aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 solaris wasip1 windows zos'.split(
    ' ',
  ),
);
const knownArch = new Set(
  '386 amd64 amd64p32 arm armbe arm64 arm64be loong64 mips mipsle mips64 mips64le mips64p32 mips64p32le ppc ppc64 ppc64le riscv riscv64 s390 s390x sparc sparc64 wasm'.split(
    ' ',
  ),
);

export function normalizeOS(os: string): string {
  const lower = os.toLowerCase();
  return lower === 'macos' ? 'darwin' : lower;
}

/**
 * The canonical architecture and variant (containerd database.go normalizeArch): aarch64 → arm64,
 * x86_64 → amd64, i386 → 386, armhf → arm/v7, armel → arm/v6. The most common variant of a family is
 * written as no variant for arm64 (v8) and amd64 (v1), while arm always carries one (v7 by default).
 */
export function normalizeArch(arch: string, variant = ''): { architecture: string; variant: string } {
  const a = arch.toLowerCase();
  const v = variant.toLowerCase();
  switch (a) {
    case 'i386':
      return { architecture: '386', variant: '' };
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return { architecture: 'amd64', variant: v === 'v1' ? '' : v };
    case 'aarch64':
    case 'arm64':
      return { architecture: 'arm64', variant: v === '8' || v === 'v8' ? '' : v };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'arm':
      if (v === '' || v === '7') return { architecture: 'arm', variant: 'v7' };
      if (v === '5' || v === '6' || v === '8') return { architecture: 'arm', variant: `v${v}` };
      return { architecture: 'arm', variant: v };
    default:
      return { architecture: a, variant: v };
  }
}

/** A platform in canonical form: names normalised, os.features sorted and deduplicated. */
export function normalizePlatform(p: Platform): Platform {
  const { architecture, variant } = normalizeArch(p.architecture, p.variant);
  const out: Platform = { architecture, os: normalizeOS(p.os) };
  if (variant !== '') out.variant = variant;
  if (p['os.version'] !== undefined && p['os.version'] !== '') out['os.version'] = p['os.version'];
  const features = p['os.features'];
  if (features !== undefined && features.length > 0) out['os.features'] = [...new Set(features)].sort();
  if (p.features !== undefined && p.features.length > 0) out.features = [...p.features];
  return out;
}

/** `os/arch[/variant]`, as containerd's platforms.Format writes it; the platform is not normalised. */
export function formatPlatform(p: Platform): string {
  if (p.os === '') return 'unknown';
  return [p.os, p.architecture, p.variant].filter((s) => s !== undefined && s !== '').join('/');
}

/** What hostPlatform reads from the process; tests pass their own. */
export interface HostInfo {
  /** Node's `process.platform`: `linux`, `darwin`, `win32`, … */
  platform: string;
  /** Node's `process.arch`: `x64`, `arm64`, `arm`, `ia32`, … */
  arch: string;
  /** An arm variant such as `v6` when known; arm otherwise means v7, arm64 means v8. */
  variant?: string;
}

const nodeArch: Record<string, string> = {
  x64: 'amd64',
  ia32: '386',
  mipsel: 'mipsle',
  mips64el: 'mips64le',
};
const nodeOS: Record<string, string> = { win32: 'windows', cygwin: 'windows', sunos: 'solaris' };

/** The platform this process runs on, normalised; the only function here that reads the process. */
export function hostPlatform(host: HostInfo = { platform: process.platform, arch: process.arch }): Platform {
  const os = nodeOS[host.platform] ?? host.platform;
  let arch = nodeArch[host.arch] ?? host.arch;
  // Node names little-endian POWER `ppc64`; on Linux it only runs little-endian, which Go calls ppc64le.
  if (arch === 'ppc64' && os === 'linux') arch = 'ppc64le';
  return normalizePlatform({ os, architecture: arch, variant: host.variant ?? '' });
}

const componentPattern = /^[A-Za-z0-9_.-]+$/;
// `<os>[(<os.version>[+<os.feature>]*)]`, as in containerd's Parse (e.g. `windows(10.0.17763+win32k)`).
const osPattern = /^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$/;

/**
 * Parses a platform specifier: `<os>`, `<arch>`, or `<os>/<arch>[/<variant>]`, with optional
 * `(<os.version>+<feature>…)` after the os, and returns it normalised (`linux/aarch64` →
 * linux/arm64, `linux/arm64/v8` → linux/arm64, `linux/armhf` → linux/arm/v7). A lone os takes the
 * host's architecture and a lone architecture the host's os (`host`, by default hostPlatform()).
 */
export function parsePlatform(specifier: string, host?: Platform): Platform {
  const bad = (why: string, cause?: unknown) =>
    new InvalidArgumentError(`platform ${JSON.stringify(specifier)}: ${why}`, { cause });
  if (specifier.includes('*')) throw bad('wildcards are not supported');
  const parts = specifier.split('/');
  if (parts.length > 3) throw bad('expected <os>/<arch>[/<variant>]');
  const [osPart = '', ...rest] = parts;
  const m = osPattern.exec(osPart);
  if (m === null) throw bad(`invalid os ${JSON.stringify(osPart)}`);
  for (const part of rest) {
    if (!componentPattern.test(part)) throw bad(`invalid component ${JSON.stringify(part)}`);
  }
  const decodeOption = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch (err) {
      if (err instanceof URIError) throw bad(`invalid %-escape in ${JSON.stringify(s)}`, err);
      throw err;
    }
  };
  const os = normalizeOS(m[1] ?? '');
  const p: Platform = { os, architecture: '' };
  if (m[2] !== undefined && m[2] !== '') p['os.version'] = decodeOption(m[2]);
  if (m[3] !== undefined && m[3] !== '') p['os.features'] = m[3].slice(1).split('+').map(decodeOption);

  if (rest.length === 0) {
    const h = host ?? hostPlatform();
    if (knownOS.has(os))
      return normalizePlatform({ ...p, architecture: h.architecture, variant: h.variant ?? '' });
    const { architecture, variant } = normalizeArch(osPart);
    if (!knownArch.has(architecture)) throw bad('unknown operating system or architecture');
    return normalizePlatform({ os: h.os, architecture, variant });
  }
  return normalizePlatform({ ...p, architecture: rest[0] ?? '', variant: rest[1] ?? '' });
}
