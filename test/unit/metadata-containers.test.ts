import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openMetadata } from '../../src/metadata/index.ts';
import { tempDir } from '../harness/tmp.ts';

const id = (c: string) => c.repeat(64);

test('containers: unique ids and names, lookup by id, name or unique prefix', (t) => {
  using m = openMetadata(tempDir(t, 'metadata-containers'));
  m.containers.create({ id: id('a'), name: 'web', status: 'created', record: { n: 1 } });
  m.containers.create({ id: `ab${'0'.repeat(62)}`, name: 'db', status: 'created', record: {} });
  assert.throws(() => m.containers.create({ id: id('c'), name: 'web', status: 'created', record: {} }), {
    code: 'AlreadyExists',
    message: 'container name "web": already in use',
  });
  assert.equal(m.containers.find('web').id, id('a'));
  assert.equal(m.containers.find(id('a')).name, 'web');
  assert.equal(m.containers.find('aa').name, 'web');
  assert.throws(() => m.containers.find('a'), { code: 'FailedPrecondition' }, 'ambiguous prefix');
  assert.throws(() => m.containers.find('a%'), { code: 'NotFound' }, 'LIKE wildcards are not wildcards');
  assert.throws(() => m.containers.find('zz'), { code: 'NotFound' });
  assert.deepEqual(m.containers.get(id('a')).record, { n: 1 });
});

test('containers: update is a compare-and-set on the version', (t) => {
  using m = openMetadata(tempDir(t, 'metadata-containers'));
  const row = m.containers.create({ id: id('a'), name: 'web', status: 'created', record: {} });
  assert.equal(row.version, 1);
  const next = m.containers.update(row.id, 1, { status: 'running', record: { pid: 7 } });
  assert.equal(next.version, 2);
  assert.equal(next.status, 'running');
  assert.throws(() => m.containers.update(row.id, 1, { status: 'stopped', record: {} }), {
    code: 'FailedPrecondition',
  });
  assert.equal(m.containers.get(row.id).status, 'running', 'the stale write changed nothing');
  m.containers.delete(row.id);
  assert.throws(() => m.containers.update(row.id, 2, { status: 'stopped', record: {} }), {
    code: 'NotFound',
  });
  assert.throws(() => m.containers.delete(row.id), { code: 'NotFound' });
});
