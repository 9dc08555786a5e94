import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { mountAll, mountsUnder, unmountAll } from '../../src/mount/index.ts';
import { needs } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

test('an overlay mount merges lower and upper, and unmountAll removes every mount below a dir', {
  skip: needs('mount'),
}, async (t) => {
  const dir = tempDir(t, 'mount');
  t.after(() => unmountAll(dir));
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => join(dir, d)) as [
    string,
    string,
    string,
    string,
  ];
  for (const d of [lower, upper, work, merged]) mkdirSync(d);
  writeFileSync(join(lower, 'from-lower'), 'L');
  await mountAll(
    [
      {
        type: 'overlay',
        source: 'overlay',
        options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`],
      },
    ],
    merged,
  );
  assert.equal(readFileSync(join(merged, 'from-lower'), 'utf8'), 'L');
  writeFileSync(join(merged, 'new'), 'N');
  assert.equal(readFileSync(join(upper, 'new'), 'utf8'), 'N');
  mkdirSync(join(merged, 'inner'));
  await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }], join(merged, 'inner'));
  assert.deepEqual(mountsUnder(dir), [join(merged, 'inner'), merged]);
  await unmountAll(dir);
  assert.deepEqual(mountsUnder(dir), []);
});

test("a failed mount names the source, target and mount(8)'s reason", { skip: needs('mount') }, async (t) => {
  const dir = tempDir(t, 'mount');
  await assert.rejects(
    mountAll([{ type: 'overlay', source: 'overlay', options: [`lowerdir=${join(dir, 'absent')}`] }], dir),
    /mount overlay overlay on .*berth-test-mount-.*: /,
  );
  assert.deepEqual(mountsUnder(dir), []);
});
