import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Absolute path of an executable found in PATH (plus the sbin dirs), or undefined. */
export function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin'];
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory: keep looking
    }
  }
  return undefined;
}

/**
 * Why an integration test cannot run here, or undefined when it can. Integration tests need root and
 * the Debian packages that scripts/install-deps installs; CI runs as root with them, so there they run.
 * Use as `test('…', { skip: needs('skopeo', 'docker-registry') }, …)`.
 */
export function needs(...binaries: string[]): string | false {
  if (process.getuid?.() !== 0) return 'needs root (integration tests start real registries and containers)';
  const missing = binaries.filter((b) => which(b) === undefined);
  if (missing.length > 0) return `needs ${missing.join(', ')} (run scripts/install-deps)`;
  return false;
}
