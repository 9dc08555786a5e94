// Plain JavaScript so that an old Node can parse it and say why it cannot go on: berth needs
// Node.js 24 (zstd in zlib, node:sqlite, TypeScript type stripping).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import module from 'node:module';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `berth: Node.js ${process.versions.node} is too old; berth needs Node.js 24 or newer.\n` +
      'hint: run `npm ci` in the berth checkout: it installs Node.js 24 into node_modules/node, which bin/berth uses.\n',
  );
  process.exit(1);
}
// Cache V8 code (and stripped TypeScript) between runs: most of a cold start is compiling.
module.enableCompileCache?.();
const daemon = process.argv[2] === 'daemon';
process.argv.splice(2, 1);
const root = new URL('..', import.meta.url);

/**
 * The bundle (scripts/build.ts) when it was built from the sources as they are now: no file under
 * src/ (nor package-lock.json) is newer than its stamp. Otherwise, or with BERTH_FROM_SOURCE=1, the
 * TypeScript sources themselves. The check stats every source file (~5 ms); it keeps an edited
 * checkout from running stale code.
 */
function bundleIsFresh() {
  if (process.env.BERTH_FROM_SOURCE === '1') return false;
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(new URL('dist/stamp.json', root), 'utf8'));
  } catch (err) {
    if (err.code === 'ENOENT') return false;
    throw err;
  }
  const src = new URL('src', root).pathname;
  if (statSync(new URL('package-lock.json', root)).mtimeMs > stamp.sourcesAt) return false;
  for (const e of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && statSync(`${e.parentPath}/${e.name}`).mtimeMs > stamp.sourcesAt) return false;
  }
  return true;
}

const entry = bundleIsFresh()
  ? daemon
    ? 'dist/berthd.mjs'
    : 'dist/berth.mjs'
  : daemon
    ? 'src/daemon/main.ts'
    : 'src/cli/main.ts';
await import(new URL(entry, root).href);
