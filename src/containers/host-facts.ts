// What spec generation must know about the host berth runs on (SpecContext): the hard rlimits berth
// may hand out and the capabilities it holds. Root on these machines lacks CAP_SYS_RESOURCE
// (issue 4, host quirks): a container asking for an rlimit above the current hard limit, or a
// privileged container given CAP_SYS_RESOURCE, would fail at create; with these facts the spec is
// clamped to what the host can grant instead.

import { readFileSync } from 'node:fs';
import { KNOWN_CAPABILITIES } from '../spec/index.ts';

/** /proc/self/limits row names → runtime-spec rlimit types. */
const limitNames: Record<string, string> = {
  'Max cpu time': 'RLIMIT_CPU',
  'Max file size': 'RLIMIT_FSIZE',
  'Max data size': 'RLIMIT_DATA',
  'Max stack size': 'RLIMIT_STACK',
  'Max core file size': 'RLIMIT_CORE',
  'Max resident set': 'RLIMIT_RSS',
  'Max processes': 'RLIMIT_NPROC',
  'Max open files': 'RLIMIT_NOFILE',
  'Max locked memory': 'RLIMIT_MEMLOCK',
  'Max address space': 'RLIMIT_AS',
  'Max file locks': 'RLIMIT_LOCKS',
  'Max pending signals': 'RLIMIT_SIGPENDING',
  'Max msgqueue size': 'RLIMIT_MSGQUEUE',
  'Max nice priority': 'RLIMIT_NICE',
  'Max realtime priority': 'RLIMIT_RTPRIO',
  'Max realtime timeout': 'RLIMIT_RTTIME',
};

/** Hard limits from proc(5)'s /proc/<pid>/limits text; `unlimited` rows are left out. */
export function parseHardLimits(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n').slice(1)) {
    const name = line.slice(0, 26).trim();
    const type = limitNames[name];
    const hard = line.slice(26).trim().split(/\s+/)[1];
    if (type !== undefined && hard !== undefined && /^\d+$/.test(hard)) out[type] = Number(hard);
  }
  return out;
}

/** Capability names of a /proc/<pid>/status `CapEff:` hex mask, in bit order. */
export function parseCapabilityMask(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  return KNOWN_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

export interface HostFacts {
  rlimitHardMax: Record<string, number>;
  capabilities: string[];
  /** berth's own oom_score_adj: a container may not go below it (no CAP_SYS_RESOURCE here). */
  oomScoreAdj: number;
}

let cached: HostFacts | undefined;

/** This process's hard limits and effective capabilities (read once). */
export function hostFacts(): HostFacts {
  if (cached !== undefined) return cached;
  const status = readFileSync('/proc/self/status', 'utf8');
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  cached = {
    rlimitHardMax: parseHardLimits(readFileSync('/proc/self/limits', 'utf8')),
    capabilities: capEff === undefined ? [...KNOWN_CAPABILITIES] : parseCapabilityMask(capEff),
    oomScoreAdj: Number(readFileSync('/proc/self/oom_score_adj', 'utf8').trim()) || 0,
  };
  return cached;
}
