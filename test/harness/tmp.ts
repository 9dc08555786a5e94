import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { mountsUnder } from '../../src/mount/index.ts';

/**
 * A fresh directory named berth-test-<what>-XXXXXX, removed when the test (or suite) ends, whether it
 * passed or not. Pass the test context `t` so cleanup is tied to it.
 *
 * Anything still mounted below it is detached first: node:test runs after-hooks in the order they
 * were registered, so this removal can run before a test's own unmount hook, and `rm -rf` through a
 * live bind or overlay mount would delete (or white out) files beneath the mount instead.
 */
export function tempDir(t: Pick<TestContext, 'after'>, what = 'tmp', parent = tmpdir()): string {
  const dir = mkdtempSync(join(parent, `berth-test-${what}-`));
  t.after(() => {
    for (const point of mountsUnder(dir)) execFileSync('umount', ['-l', point]);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });
  return dir;
}
