// Bundles the CLI, the daemon and the unpack worker into dist/ with esbuild, for start-up speed: run
// from the sources, every berth command first loads Node's TypeScript stripper and then resolves,
// reads and strips ~150 files one by one (~100 ms here); the bundle is a few files of plain
// JavaScript that the compile cache serves. Dynamic imports stay lazy (code splitting), so
// `berth --version` still loads almost nothing.
//
// bin/start.mjs runs dist/ only while it is newer than every file under src/ (the stamp below), so
// an edited checkout falls back to the sources until the next build: `npm run build`, which
// scripts/setup and `npm test` run.
//   node_modules/.bin/node scripts/build.ts

import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist');
const tmp = join(root, `.dist-tmp-${process.pid}`);

/** The newest modification time under src/ (and of package-lock.json), as start.mjs computes it. */
export function newestSource(dir = join(root, 'src')): number {
  let newest = statSync(join(root, 'package-lock.json')).mtimeMs;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

const started = Date.now();
const sourcesAt = newestSource();
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp);
await build({
  entryPoints: {
    berth: join(root, 'src/cli/main.ts'),
    berthd: join(root, 'src/daemon/main.ts'),
    worker: join(root, 'src/unpack/worker.ts'),
  },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  outdir: tmp,
  outExtension: { '.js': '.mjs' },
  // Flat: the unpack worker is found beside whichever chunk starts it (unpack/worker-pool.ts).
  chunkNames: '[name]-[hash]',
  // CommonJS packages (undici, commander's internals) call require(); ESM output needs one made.
  banner: {
    js: "import { createRequire as __berthRequire } from 'node:module'; const require = __berthRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  logLevel: 'warning',
});
// The stamp names the sources' time the bundle was built from; start.mjs compares it to theirs now.
writeFileSync(join(tmp, 'stamp.json'), JSON.stringify({ sourcesAt }));
rmSync(out, { recursive: true, force: true });
renameSync(tmp, out);
process.stderr.write(`berth: bundled into dist/ in ${Date.now() - started} ms\n`);
