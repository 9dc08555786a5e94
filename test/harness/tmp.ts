import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/**
 * A fresh directory named berth-test-<what>-XXXXXX, removed when the test (or suite) ends, whether it
 * passed or not. Pass the test context `t` so cleanup is tied to it.
 */
export function tempDir(t: Pick<TestContext, 'after'>, what = 'tmp', parent = tmpdir()): string {
  const dir = mkdtempSync(join(parent, `berth-test-${what}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
  return dir;
}
