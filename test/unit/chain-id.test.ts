import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { chainIDs } from '../../src/images/chain-id.ts';

const d = (c: string) => `sha256:${c.repeat(64)}`;

test('chain IDs: the first is the diffID, each next hashes the previous and the diffID', () => {
  const ids = chainIDs([d('a'), d('b'), d('c')]);
  assert.equal(ids[0], d('a'));
  const second = `sha256:${createHash('sha256')
    .update(`${d('a')} ${d('b')}`)
    .digest('hex')}`;
  assert.equal(ids[1], second);
  assert.equal(
    ids[2],
    `sha256:${createHash('sha256')
      .update(`${second} ${d('c')}`)
      .digest('hex')}`,
  );
  assert.deepEqual(chainIDs([]), []);
});
