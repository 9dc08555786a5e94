import { fileURLToPath } from 'node:url';

/**
 * The directory berth is installed in (the checkout: package.json, bin/, node_modules/). Sources
 * run from src/<folder>/*.ts, two levels below it; the bundle (scripts/build.ts) runs from
 * dist/*.mjs, one level below. Every path berth derives from its own location goes through here.
 */
export function installDir(): string {
  const here = import.meta.url;
  return fileURLToPath(new URL(here.endsWith('.ts') ? '../../' : '../', here));
}
