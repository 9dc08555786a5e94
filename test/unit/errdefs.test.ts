import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DataLossError,
  InvalidArgumentError,
  isBerthError,
  isErrno,
  NotFoundError,
} from '../../src/errdefs/index.ts';

test('errors carry a code, the message, the cause and an optional hint', () => {
  const cause = new Error('ENOENT');
  const err = new NotFoundError('image "busybox:latest": not found', { cause, hint: 'pull it first' });
  assert.equal(err.code, 'NotFound');
  assert.equal(err.name, 'NotFoundError');
  assert.equal(err.message, 'image "busybox:latest": not found');
  assert.equal(err.cause, cause);
  assert.equal(err.hint, 'pull it first');
  assert.ok(err instanceof Error);
  assert.ok(isBerthError(err));
  assert.equal(new DataLossError('x').code, 'DataLoss');
  assert.equal(new InvalidArgumentError('x').cause, undefined);
  assert.equal(isBerthError(new Error('plain')), false);
});

test('isErrno matches only the errno asked for', () => {
  const e = Object.assign(new Error('no such file'), { code: 'ENOENT' });
  assert.ok(isErrno(e, 'ENOENT'));
  assert.equal(isErrno(e, 'EEXIST'), false);
  assert.equal(isErrno('ENOENT', 'ENOENT'), false);
});
