import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { which } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const berth = new URL('../../bin/berth', import.meta.url).pathname;
const berthd = new URL('../../bin/berthd', import.meta.url).pathname;
const startScript = new URL('../../bin/start.mjs', import.meta.url).pathname;

function run(bin: string, args: string[]) {
  return spawnSync(bin, args, { encoding: 'utf8', env: { ...process.env, BERTH_DEBUG: '' } });
}

test('berth --version runs on the Node 24 the project brings', () => {
  const r = run(berth, ['--version']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^berth version \d+\.\d+\.\d+ \(node 24\.\d+\.\d+, linux\/\w+\)\n$/);
  const d = run(berthd, ['--version']);
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stdout, /^berthd version /);
});

test('berth config default prints the commented defaults', () => {
  const r = run(berth, ['config', 'default']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^# root = "\/var\/lib\/berth"$/m);
});

test('a bad config file exits 125 with one line naming the key, and a hint', (t) => {
  const dir = tempDir(t, 'cli');
  const path = join(dir, 'config.toml');
  writeFileSync(path, '[runtime]\ndefault = "kata"\n');
  const r = run(berth, ['--config', path, 'config', 'show']);
  assert.equal(r.status, 125);
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    /^berth: config file .*config\.toml: key "runtime\.default": expected one of "runc", "crun", got string "kata"\n$/,
  );
});

test('an unknown flag exits 125 and points at --help', () => {
  const r = run(berth, ['--no-such-flag']);
  assert.equal(r.status, 125);
  assert.match(r.stderr, /unknown option '--no-such-flag'/);
});

test('an old Node is refused with a message saying what to do', { skip: oldNodeSkip() }, () => {
  const r = spawnSync('/usr/bin/node', [startScript, 'cli', '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /is too old; berth needs Node\.js 24 or newer/);
  assert.match(r.stderr, /npm ci/);
});

function oldNodeSkip(): string | false {
  if (which('node') === undefined) return 'no system node';
  const v = spawnSync('/usr/bin/node', ['-p', 'process.versions.node'], { encoding: 'utf8' });
  if (v.status !== 0) return 'no /usr/bin/node';
  return Number(v.stdout.split('.')[0]) >= 24 ? 'the system node is not older than 24' : false;
}
