import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'smol-toml';
import { defaultConfig, defaultConfigText, loadConfig, validateConfig } from '../../src/config/index.ts';
import { InvalidArgumentError, NotFoundError } from '../../src/errdefs/index.ts';
import { tempDir } from '../harness/tmp.ts';

test('defaults match the ecosystem paths', () => {
  const c = defaultConfig();
  assert.equal(c.root, '/var/lib/berth');
  assert.equal(c.state, '/run/berth');
  assert.equal(c.cri.listen, '/run/berth/berth.sock');
  assert.deepEqual(c.cri.cni_bin_dirs, ['/opt/cni/bin', '/usr/lib/cni']);
  assert.equal(c.images.max_concurrent_downloads, 3);
});

test('a file overrides some keys; the rest keep their defaults', (t) => {
  const dir = tempDir(t, 'config');
  const path = join(dir, 'config.toml');
  writeFileSync(
    path,
    'root = "/srv/berth"\n[images]\nmax_concurrent_downloads = 5\n[runtime]\ndefault = "crun"\n',
  );
  const c = loadConfig({ path });
  assert.equal(c.root, '/srv/berth');
  assert.equal(c.images.max_concurrent_downloads, 5);
  assert.equal(c.images.snapshotter, 'overlayfs');
  assert.equal(c.runtime.default, 'crun');
});

test('--root and --state override the file', (t) => {
  const dir = tempDir(t, 'config');
  const path = join(dir, 'config.toml');
  writeFileSync(path, 'root = "/srv/berth"\n');
  const c = loadConfig({ path, root: dir, state: join(dir, 'run') });
  assert.equal(c.root, dir);
  assert.equal(c.state, join(dir, 'run'));
});

test('errors name the key and the reason', () => {
  const cases: [unknown, RegExp][] = [
    [
      { images: { max_concurrent_downloads: 0 } },
      /key "images.max_concurrent_downloads": expected an integer between 1 and 64, got number 0/,
    ],
    [
      { images: { max_concurrent_downloads: 'x' } },
      /key "images.max_concurrent_downloads": expected an integer/,
    ],
    [{ root: 'relative/dir' }, /key "root": expected an absolute path/],
    [{ runtime: { default: 'kata' } }, /key "runtime.default": expected one of "runc", "crun"/],
    [{ images: { snapshoter: 'native' } }, /unknown key "images.snapshoter"/],
    [{ nosuch: 1 }, /unknown key "nosuch"/],
    [{ images: 3 }, /key "images": expected a table/],
    [{ cri: { cni_bin_dirs: ['/a', 2] } }, /key "cri.cni_bin_dirs": expected an array of strings/],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => validateConfig(input, 'test.toml'),
      (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError, `${JSON.stringify(input)} gave ${String(err)}`);
        assert.match(err.message, /^test\.toml: /);
        assert.match(err.message, message);
        return true;
      },
    );
  }
});

test('a missing default file means defaults; a missing --config file is an error', (t) => {
  const dir = tempDir(t, 'config');
  assert.throws(() => loadConfig({ path: join(dir, 'absent.toml') }), NotFoundError);
});

test('TOML syntax errors name the file and line', (t) => {
  const dir = tempDir(t, 'config');
  const path = join(dir, 'bad.toml');
  writeFileSync(path, 'root = "/x"\n[images\n');
  assert.throws(() => loadConfig({ path }), /config file .*bad\.toml: not valid TOML at line 2/);
});

test('the commented default text lists every key and, uncommented, validates to the defaults', () => {
  const text = defaultConfigText();
  assert.match(text, /# max_container_log_line_size = 16384/);
  const uncommented = text
    .split('\n')
    .filter((l) => /^# (\[|[a-z_]+ = )/.test(l))
    .map((l) => l.slice(2))
    .join('\n');
  assert.deepEqual(validateConfig(parse(uncommented), 'default text'), defaultConfig());
  // As printed (all commented out) it parses to an empty document: installing it changes nothing.
  assert.deepEqual(Object.keys(parse(text)), []);
});
