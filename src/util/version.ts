import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { installDir } from './install-dir.ts';

/** The package version, read once from package.json (no JSON module import: it is slower to load). */
export function berthVersion(): string {
  const pkg = JSON.parse(readFileSync(join(installDir(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function versionLine(): string {
  return `berth version ${berthVersion()} (node ${process.versions.node}, ${process.platform}/${process.arch})`;
}
