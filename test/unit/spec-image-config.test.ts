// Image config → process: Docker's Entrypoint/Cmd/argument rules (moby daemon/commit.go merge),
// the env merge (request wins by key), WorkingDir and the user from the image.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../src/errdefs/index.ts';
import type { ImageConfig, ImageRunConfig } from '../../src/oci/image/index.ts';
import {
  combineArgs,
  generateSpec,
  mergeEnv,
  type RunOverrides,
  withDefaults,
  withEnv,
  withImageConfig,
} from '../../src/spec/index.ts';

const image = (config: ImageRunConfig): ImageConfig => ({
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: [] },
  config,
});

// [case, image Entrypoint, image Cmd, overrides, expected args]
const table: [string, string[] | undefined, string[] | undefined, RunOverrides, string[]][] = [
  ['cmd only', undefined, ['sh'], {}, ['sh']],
  ['entrypoint only', ['/entry'], undefined, {}, ['/entry']],
  ['entrypoint + cmd', ['/entry', '-v'], ['serve'], {}, ['/entry', '-v', 'serve']],
  ['args replace cmd', undefined, ['sh'], { args: ['echo', 'hi'] }, ['echo', 'hi']],
  ['args follow entrypoint, replacing cmd', ['/entry'], ['serve'], { args: ['check'] }, ['/entry', 'check']],
  ['--entrypoint drops the image cmd', ['/entry'], ['serve'], { entrypoint: ['/bin/sh'] }, ['/bin/sh']],
  [
    '--entrypoint with args',
    ['/entry'],
    ['serve'],
    { entrypoint: ['/bin/sh'], args: ['-c', 'id'] },
    ['/bin/sh', '-c', 'id'],
  ],
  ['--entrypoint "" keeps the image cmd', ['/entry'], ['serve'], { entrypoint: [] }, ['serve']],
  ['--entrypoint "" with args', ['/entry'], ['serve'], { entrypoint: [], args: ['ls'] }, ['ls']],
  ['empty args list means none given', ['/entry'], ['serve'], { args: [] }, ['/entry', 'serve']],
  ['null entrypoint and cmd', undefined, undefined, { args: ['true'] }, ['true']],
];

for (const [name, Entrypoint, Cmd, overrides, expected] of table) {
  test(`combineArgs: ${name}`, () => {
    assert.deepEqual(combineArgs({ Entrypoint: Entrypoint ?? null, Cmd: Cmd ?? null }, overrides), expected);
  });
}

test('no command at all is an InvalidArgumentError with a hint', async () => {
  await assert.rejects(
    generateSpec([withDefaults(), withImageConfig(image({}))], { id: 'c' }),
    (err: unknown) =>
      err instanceof InvalidArgumentError && /no command/.test(err.message) && err.hint !== undefined,
  );
});

test('mergeEnv: request wins by key in the image position, new keys appended, bare names removed', () => {
  assert.deepEqual(mergeEnv(['PATH=/bin', 'A=1', 'B=2'], ['B=3', 'C=4', 'A']), ['PATH=/bin', 'B=3', 'C=4']);
  assert.deepEqual(mergeEnv(['X=a=b'], ['X=c=d']), ['X=c=d']);
  assert.deepEqual(mergeEnv(['BARE', 'A=1'], []), ['A=1']);
  assert.throws(() => mergeEnv([], ['=x']), /empty name/);
});

test('withImageConfig: env merged (user wins), PATH defaulted, WorkingDir, numeric user without rootfs', async () => {
  const cfg = image({ Env: ['FOO=image', 'KEEP=1'], Cmd: ['run'], WorkingDir: '/app', User: '1000:1000' });
  const s = await generateSpec(
    [withDefaults(), withEnv(['EARLY=1']), withImageConfig(cfg, { env: ['FOO=user'] })],
    { id: 'c' },
  );
  assert.deepEqual(s.process?.env, [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'FOO=user',
    'KEEP=1',
    'EARLY=1',
    'HOME=/',
  ]);
  assert.equal(s.process?.cwd, '/app');
  assert.deepEqual(s.process?.user, { uid: 1000, gid: 1000, additionalGids: [1000] });
});

test('withImageConfig: WorkingDir defaults to /, -w and -u override, relative -w refused', async () => {
  const cfg = image({ Env: ['PATH=/opt/bin'], Cmd: ['run'], User: '5' });
  const s = await generateSpec([withDefaults(), withImageConfig(cfg)], { id: 'c' });
  assert.equal(s.process?.cwd, '/');
  assert.deepEqual(s.process?.env, ['PATH=/opt/bin', 'HOME=/']);
  assert.deepEqual(s.process?.user, { uid: 5, gid: 0, additionalGids: [0] });
  const o = await generateSpec([withDefaults(), withImageConfig(cfg, { workingDir: '/w', user: '7:8' })], {
    id: 'c',
  });
  assert.equal(o.process?.cwd, '/w');
  assert.deepEqual(o.process?.user, { uid: 7, gid: 8, additionalGids: [8] });
  await assert.rejects(
    generateSpec([withDefaults(), withImageConfig(cfg, { workingDir: 'w' })], { id: 'c' }),
    /working directory "w": must be an absolute path/,
  );
});

test('a user name without a mounted rootfs is a FailedPrecondition naming the user', async () => {
  const cfg = image({ Cmd: ['run'], User: 'nginx' });
  await assert.rejects(generateSpec([withDefaults(), withImageConfig(cfg)], { id: 'c' }), (err: unknown) => {
    assert.ok(err instanceof Error && err.name === 'FailedPreconditionError', String(err));
    assert.match(err.message, /user "nginx": names are resolved in the container's rootfs/);
    return true;
  });
});
