// Plain JavaScript so that an old Node can parse it and say why it cannot go on: berth needs
// Node.js 24 (zstd in zlib, node:sqlite, TypeScript type stripping).
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
const entry = process.argv[2] === 'daemon' ? '../src/daemon/main.ts' : '../src/cli/main.ts';
process.argv.splice(2, 1);
await import(new URL(entry, import.meta.url).href);
