// Interoperability of the runtime-spec validator with a real runtime: `runc spec` writes the
// example config.json of the runc installed here, and that document must pass validateSpec.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateSpec } from '../../src/oci/runtime/index.ts';
import { needs } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

for (const runtime of ['runc', 'crun']) {
  test(`${runtime} spec output validates`, { skip: needs(runtime) }, (t) => {
    const dir = tempDir(t, `${runtime}-spec`);
    const r = spawnSync(runtime, ['spec'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const spec = validateSpec(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), `${runtime} spec`);
    assert.equal(spec.root?.path, 'rootfs');
    assert.ok((spec.mounts ?? []).some((m) => m.destination === '/proc'));
  });
}
