// The dependency-direction check for the layer table in docs/architecture.md (from
// ../shared/design.md): a folder may import only folders of a lower layer; folders of the same layer
// 3 may import each other only through their `types.ts`. Relative imports are read with a regular
// expression over `import … from '…'`, `export … from '…'` and `import('…')`: TypeScript 7's compiler
// has no JavaScript API to ask, and the project writes imports in this one form (biome formats them).
// Run: node scripts/check-layers.ts   (exit 1 and one line per violation when the rule is broken)

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const layers: Record<string, number> = {
  errdefs: 0,
  util: 0,
  'oci/image': 1,
  'oci/runtime': 1,
  reference: 1,
  config: 1,
  content: 2,
  metadata: 2,
  mount: 2,
  registry: 2,
  layout: 2,
  images: 3,
  snapshot: 3,
  unpack: 3,
  spec: 3,
  runtime: 3,
  shim: 3,
  cgroups: 3,
  cni: 3,
  imagebuild: 3,
  containers: 4,
  pods: 4,
  cri: 4,
  daemon: 5,
  cli: 5,
};

/**
 * Imports across one layer that the design's table does not forbid in spirit, each with its reason.
 * reference → oci/image: a reference's digest is an image-spec digest, parsed by the one parser.
 * util → errdefs: shared helpers (the JSON field checkers) throw the project's error classes.
 * cri → containers, pods: each RPC validates, then calls the lifecycle services (design.md "CRI");
 *   the services never import cri, so the direction stays one way within layer 4.
 * daemon → cli: berthd wires the same services as the CLI (cli/services.ts), not a second copy.
 */
export const sameLayerAllowed: Record<string, readonly string[]> = {
  reference: ['oci/image'],
  util: ['errdefs'],
  cri: ['containers', 'pods'],
  daemon: ['cli'],
};

/** The folder (a key of `layers`) a file under src/ belongs to, or undefined. */
export function folderOf(srcRelative: string): string | undefined {
  const parts = srcRelative.split('/');
  const two = parts.slice(0, 2).join('/');
  if (two in layers && parts.length > 2) return two;
  const one = parts[0];
  return one !== undefined && one in layers && parts.length > 1 ? one : undefined;
}

export function importsOf(source: string): string[] {
  const out: string[] = [];
  const re = /(?:^|\s)(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of source.matchAll(re)) {
    const spec = m[1] ?? m[2];
    if (spec !== undefined) out.push(spec);
  }
  return out;
}

/** Returns a message when `from` (a src-relative file) may not import `to` (a src-relative file). */
export function violation(from: string, to: string): string | undefined {
  const a = folderOf(from);
  const b = folderOf(to);
  if (a === undefined) return `${from}: file is in no folder of the layer table`;
  if (b === undefined) return `${from}: imports ${to}, which is in no folder of the layer table`;
  if (a === b) return undefined;
  const la = layers[a] ?? 0;
  const lb = layers[b] ?? 0;
  if (lb < la) return undefined;
  if (lb === la && la === 3 && to === `${b}/types.ts`) return undefined;
  if (lb === la && sameLayerAllowed[a]?.includes(b)) return undefined;
  const why =
    lb === la
      ? `same layer ${la}; only ${b}/types.ts may be imported`
      : `layer ${la} may not import layer ${lb}`;
  return `${from}: imports ${to} (${why})`;
}

function* tsFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* tsFiles(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) yield path;
  }
}

export function checkTree(srcDir: string): string[] {
  const problems: string[] = [];
  for (const file of tsFiles(srcDir)) {
    const from = relative(srcDir, file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue; // node: builtins and npm packages are allowed anywhere
      const target = relative(srcDir, resolve(dirname(file), spec));
      if (target.startsWith('..')) {
        problems.push(`${from}: imports ${spec}, outside src/`);
        continue;
      }
      const v = violation(from, target);
      if (v !== undefined) problems.push(v);
    }
  }
  return problems;
}

if (import.meta.main) {
  const src = new URL('../src', import.meta.url).pathname;
  const problems = checkTree(src);
  for (const p of problems) process.stderr.write(`layers: ${p}\n`);
  if (problems.length > 0) process.exit(1);
  process.stdout.write('layers: every import points down the layer table\n');
}
