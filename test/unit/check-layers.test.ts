import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkTree, folderOf, importsOf, violation } from '../../scripts/check-layers.ts';

test('folders resolve to the layer table, two-level ones first', () => {
  assert.equal(folderOf('oci/image/digest.ts'), 'oci/image');
  assert.equal(folderOf('errdefs/index.ts'), 'errdefs');
  assert.equal(folderOf('cli/commands/config.ts'), 'cli');
  assert.equal(folderOf('nowhere/x.ts'), undefined);
});

test('imports are found in every form the project writes', () => {
  const src = [
    "import { a } from '../a.ts';",
    "import type { B } from './b.ts';",
    "export * from './c.ts';",
    "export { d } from './d.ts';",
    "const e = await import('./e.ts');",
    "import {\n  f,\n  g,\n} from '../f.ts';",
  ].join('\n');
  assert.deepEqual(importsOf(src), ['../a.ts', './b.ts', './c.ts', './d.ts', './e.ts', '../f.ts']);
});

test('imports must point down the table; layer 3 peers only through types.ts', () => {
  assert.equal(violation('cli/main.ts', 'config/index.ts'), undefined);
  assert.equal(violation('content/store.ts', 'content/ingest.ts'), undefined);
  assert.match(violation('errdefs/x.ts', 'config/index.ts') ?? '', /layer 0 may not import layer 1/);
  assert.match(violation('pods/run.ts', 'containers/index.ts') ?? '', /only containers\/types\.ts/);
  assert.equal(violation('daemon/serve.ts', 'cli/services.ts'), undefined, 'listed in sameLayerAllowed');
  assert.equal(violation('unpack/apply.ts', 'snapshot/types.ts'), undefined);
  assert.match(violation('unpack/apply.ts', 'snapshot/overlay.ts') ?? '', /same layer 3/);
  assert.match(violation('content/x.ts', 'registry/types.ts') ?? '', /same layer 2/);
});

test('the project itself follows the table', () => {
  assert.deepEqual(checkTree(new URL('../../src', import.meta.url).pathname), []);
});
