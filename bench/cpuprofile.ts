// Summarises V8 .cpuprofile files (from `node --cpu-prof`, one per thread) for bench/pull.ts --profile:
// for each thread, where its samples fall by category and the functions with the most self time.
// A sample is charged to the category of its nearest frame that has one (leaf first), so the time of
// a native call (the `open` binding) lands on the JS function that made it (`openSync` → fs calls).
// Work zlib and crypto do on libuv's thread pool is not in any profile: V8 samples JS threads only.
//   node_modules/.bin/node bench/cpuprofile.ts <file.cpuprofile>...

import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { basename, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber?: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const syntheticCategories: Record<string, string> = {
  '(idle)': 'idle',
  '(garbage collector)': 'GC',
  '(program)': 'V8/native, unattributed',
  '(root)': 'V8/native, unattributed',
};

/** The category of one frame, or undefined to look at its caller. First match wins. */
function frameCategory(f: CallFrame): string | undefined {
  const { url, functionName: fn } = f;
  if (url.endsWith('/tar-reader.ts')) return 'tar reader';
  if (url.endsWith('/decompress.ts')) return 'inflate / zstd (synchronous, in the worker)';
  if (url.endsWith('/pax.ts')) return 'pax records';
  if (url.includes('/tar-stream/')) return 'tar-stream parsing';
  if (/\/(streamx|fast-fifo|b4a|text-decoder|queue-tick|events-universal)\//.test(url)) {
    return 'streamx (tar-stream streams)';
  }
  if (url === 'node:fs' && fn.endsWith('Sync')) return 'fs sync calls (syscalls)';
  if (url.startsWith('node:internal/fs') || url === 'node:fs') return 'fs async / streams';
  if (url.includes('internal/crypto/hash')) return 'sha256 (JS side)';
  if (url === 'node:zlib' || url.includes('internal/zlib')) return 'zlib (JS side; inflate runs on the pool)';
  if (url.includes('internal/worker') || url.includes('messageport') || fn === 'postMessage') {
    return 'worker messaging';
  }
  if (url.includes('/undici/')) return 'undici (HTTP)';
  if (url.includes('internal/modules') || url.includes('internal/bootstrap')) return 'module loading';
  if (url.includes('/src/metadata/') || url.includes('node:sqlite')) return 'metadata (SQLite)';
  if (url.includes('/src/content/') || url.includes('/src/images/pull-content')) return 'content store';
  if (url.includes('/src/unpack/')) return 'unpack logic (applier, paths)';
  if (url.includes('/src/cli/')) return 'CLI, progress';
  if (url.includes('/src/')) return 'berth, other';
  if (url.includes('internal/streams')) return 'node streams';
  return undefined;
}

/**
 * Frames of the esbuild bundle (dist/*.mjs, what bin/berth runs) mapped back to their source file and
 * line through the bundle's source maps, so that they fall into the same categories as the sources.
 */
const sourceMaps = new Map<string, SourceMap | undefined>();
function original(frame: CallFrame): CallFrame {
  if (!/\/dist\/[^/]+\.mjs$/.test(frame.url) || !frame.url.startsWith('file:')) return frame;
  let map = sourceMaps.get(frame.url);
  if (!sourceMaps.has(frame.url)) {
    const file = `${fileURLToPath(frame.url)}.map`;
    map = existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8'))) : undefined;
    sourceMaps.set(frame.url, map);
  }
  const entry = map?.findEntry(frame.lineNumber, frame.columnNumber ?? 0);
  if (entry === undefined || !('originalSource' in entry)) return frame;
  const source = resolve(fileURLToPath(new URL('.', frame.url)), entry.originalSource);
  return { ...frame, url: pathToFileURL(source).href, lineNumber: entry.originalLine };
}

interface ThreadSummary {
  label: string;
  wallMs: number;
  busyMs: number;
  byCategory: Map<string, number>;
  bySelf: Map<string, number>;
}

function summarize(path: string): ThreadSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const categoryCache = new Map<number, string>();
  const categoryOf = (id: number): string => {
    const cached = categoryCache.get(id);
    if (cached !== undefined) return cached;
    const frame = original((byId.get(id) as ProfileNode).callFrame);
    const synthetic = syntheticCategories[frame.functionName];
    let category = synthetic ?? frameCategory(frame);
    if (category === undefined) {
      const up = parent.get(id);
      category = up === undefined ? 'other' : categoryOf(up);
    }
    categoryCache.set(id, category);
    return category;
  };
  const byCategory = new Map<string, number>();
  const bySelf = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    // timeDeltas[i] is the time before sample i; charged to it (V8's own convention in DevTools).
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const category = categoryOf(id);
    byCategory.set(category, (byCategory.get(category) ?? 0) + ms);
    if (category !== 'idle') busy += ms;
    const f = original((byId.get(id) as ProfileNode).callFrame);
    const where =
      f.url === '' ? '' : ` ${f.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${f.lineNumber + 1}`;
    const key = `${f.functionName || '(anonymous)'}${where}`;
    bySelf.set(key, (bySelf.get(key) ?? 0) + ms);
  });
  // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the main thread.
  const tid = basename(path).split('.')[4];
  return {
    label: tid === '0' ? `main thread (${basename(path)})` : `worker thread ${tid} (${basename(path)})`,
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busy,
    byCategory,
    bySelf,
  };
}

function top(map: Map<string, number>, n: number, totalMs: number): string[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, ms]) =>
        `  ${ms.toFixed(0).padStart(6)} ms ${((ms / totalMs) * 100).toFixed(1).padStart(5)} %  ${k}`,
    );
}

export function summarizeProfiles(paths: string[]): string {
  const out: string[] = [];
  for (const s of paths.map(summarize).sort((a, b) => a.label.localeCompare(b.label))) {
    out.push(`\n${s.label}: ${s.wallMs.toFixed(0)} ms profiled, ${s.busyMs.toFixed(0)} ms busy`);
    out.push(' by category (nearest categorised frame):');
    out.push(...top(s.byCategory, 20, s.wallMs));
    out.push(' top self time:');
    out.push(...top(s.bySelf, 15, s.wallMs));
  }
  return out.join('\n');
}

if (import.meta.main) process.stdout.write(`${summarizeProfiles(process.argv.slice(2))}\n`);
