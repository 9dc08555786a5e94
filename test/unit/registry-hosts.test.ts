import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../src/errdefs/index.ts';
import { defaultServer, isLoopbackHost, loadEndpoints, parseHostsToml } from '../../src/registry/index.ts';
import { tempDir } from '../harness/tmp.ts';

test('default servers: docker.io alias, https everywhere but loopback', () => {
  assert.equal(defaultServer('docker.io'), 'https://registry-1.docker.io');
  assert.equal(defaultServer('quay.io'), 'https://quay.io');
  assert.equal(defaultServer('127.0.0.1:5000'), 'http://127.0.0.1:5000');
  assert.equal(defaultServer('localhost'), 'http://localhost');
  assert.equal(defaultServer('[::1]:5000'), 'http://[::1]:5000');
  assert.equal(isLoopbackHost('127.9.9.9:1'), true);
  assert.equal(isLoopbackHost('127.0.0.1.example.com'), false);
  assert.equal(isLoopbackHost('localhost.example.com:5000'), false);
});

test('hosts.toml: mirrors in order, then the server; capabilities, TLS, headers, override_path', () => {
  const toml = `
server = "https://registry-1.docker.io"
ca = "root.pem"

[host."https://mirror.internal"]
  capabilities = ["pull", "resolve"]
  ca = ["/etc/certs/a.pem", "b.pem"]
  skip_verify = true
  [host."https://mirror.internal".header]
    x-custom = ["v1", "v2"]
    X-One = "only"

[host."http://10.0.0.2:5000"]
  capabilities = ["pull"]

[host."https://odd.registry/v2/upstream"]
  override_path = true
  client = [["/c.crt", "/c.key"]]
`;
  const eps = parseHostsToml(toml, 'docker.io', '/etc/berth/certs.d/docker.io/hosts.toml');
  assert.deepEqual(
    eps.map((e) => [e.base, e.mirror, e.capabilities.join(',')]),
    [
      ['https://mirror.internal/v2', true, 'pull,resolve'],
      ['http://10.0.0.2:5000/v2', true, 'pull'],
      ['https://odd.registry/v2/upstream', true, 'pull,resolve,push'],
      ['https://registry-1.docker.io/v2', false, 'pull,resolve,push'],
    ],
  );
  assert.deepEqual(eps[0]?.ca, ['/etc/certs/a.pem', '/etc/berth/certs.d/docker.io/b.pem']);
  assert.equal(eps[0]?.skipVerify, true);
  assert.deepEqual(eps[0]?.headers, { 'x-custom': ['v1', 'v2'], 'x-one': ['only'] });
  assert.deepEqual(eps[2]?.client, [['/c.crt', '/c.key']]);
  assert.deepEqual(eps[3]?.ca, ['/etc/berth/certs.d/docker.io/root.pem']);
  assert.equal(eps[3]?.host, 'registry-1.docker.io');
});

test('hosts.toml without server falls back to the namespace; bad files name the file and key', () => {
  const eps = parseHostsToml('[host."mirror:5000"]\n', 'quay.io', '/x/hosts.toml');
  assert.deepEqual(
    eps.map((e) => e.base),
    ['https://mirror:5000/v2', 'https://quay.io/v2'],
  );
  assert.throws(
    () => parseHostsToml('capabilities = ["fly"]', 'h', '/x/hosts.toml'),
    /\/x\/hosts.toml: unknown capability "fly"/,
  );
  assert.throws(() => parseHostsToml('skip_verify = "yes"', 'h', '/x/hosts.toml'), InvalidArgumentError);
  assert.throws(() => parseHostsToml('server = ', 'h', '/x/hosts.toml'), /not valid TOML/);
  assert.throws(() => parseHostsToml('server = "ftp://x"', 'h', '/x/hosts.toml'), /only http and https/);
});

test('loadEndpoints: host_port_ dir first, then host, then _default; docker .crt fallback', async (t) => {
  const dir = tempDir(t, 'hosts');
  mkdirSync(join(dir, 'reg.example_5000_'));
  writeFileSync(join(dir, 'reg.example_5000_', 'hosts.toml'), 'server = "https://one.example"');
  mkdirSync(join(dir, 'reg.example:5000'));
  writeFileSync(join(dir, 'reg.example:5000', 'hosts.toml'), 'server = "https://two.example"');
  mkdirSync(join(dir, '_default'));
  writeFileSync(join(dir, '_default', 'hosts.toml'), '[host."https://mirror.example"]\n');
  mkdirSync(join(dir, 'certs.example'));
  writeFileSync(join(dir, 'certs.example', 'ca.crt'), 'PEM');
  assert.equal((await loadEndpoints(dir, 'reg.example:5000'))[0]?.base, 'https://one.example/v2');
  assert.deepEqual(
    (await loadEndpoints(dir, 'other.example')).map((e) => e.base),
    ['https://mirror.example/v2', 'https://other.example/v2'],
  );
  assert.deepEqual((await loadEndpoints(join(dir, 'none'), 'certs.example'))[0]?.ca, []);
  await assert.rejects(loadEndpoints(dir, '../etc'), InvalidArgumentError);
  assert.deepEqual((await loadEndpoints(undefined, '127.0.0.1:5000'))[0]?.base, 'http://127.0.0.1:5000/v2');
});
