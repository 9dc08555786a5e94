// Network configuration loading (CNI spec section 1), the conf dir scan (lexical order, first valid
// wins, invalid files skipped with their reason), the default conflist, request derivation and
// result parsing (section 5) — all pure or on temp dirs, no plugin runs.

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CniPluginError,
  DEFAULT_CONFIG_FILE,
  defaultConflist,
  ensureDefaultConfig,
  loadNetwork,
  parseNetworkConfig,
  parseResult,
  podIps,
  requestConfig,
  scanConfDir,
  selectVersion,
} from '../../src/cni/index.ts';
import { InvalidArgumentError, NotFoundError } from '../../src/errdefs/index.ts';
import { tempDir } from '../harness/tmp.ts';

const list = (doc: object) => parseNetworkConfig(JSON.stringify(doc), { source: 'f.conflist', list: true });
const single = (doc: object) => parseNetworkConfig(JSON.stringify(doc), { source: 'f.conf', list: false });
const invalid = (re: RegExp) => (err: unknown) => err instanceof InvalidArgumentError && re.test(err.message);

test('a conflist keeps unknown keys; a .conf becomes a one-plugin list', () => {
  const n = list({
    cniVersion: '1.0.0',
    name: 'net1',
    disableCheck: true,
    plugins: [
      { type: 'bridge', bridge: 'b0', ipam: { type: 'host-local' } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
  assert.equal(n.name, 'net1');
  assert.equal(n.disableCheck, true);
  assert.deepEqual(n.plugins[0]!.raw, { type: 'bridge', bridge: 'b0', ipam: { type: 'host-local' } });
  assert.deepEqual(n.plugins[1]!.capabilities, { portMappings: true });
  const s = single({ cniVersion: '0.4.0', name: 'old', type: 'bridge', bridge: 'b1' });
  assert.equal(s.cniVersion, '0.4.0');
  assert.deepEqual(s.plugins, [{ type: 'bridge', capabilities: {}, raw: { type: 'bridge', bridge: 'b1' } }]);
});

test('the version spoken is the highest of cniVersion and cniVersions berth supports', () => {
  assert.equal(selectVersion('1.0.0', ['0.3.1', '1.1.0', '9.9.9']), '1.1.0');
  assert.equal(selectVersion('0.4.0'), '0.4.0');
  assert.equal(selectVersion('0.2.0'), undefined);
  assert.equal(
    list({ cniVersion: '0.3.1', cniVersions: ['1.0.0'], name: 'n', plugins: [{ type: 'x' }] }).cniVersion,
    '1.0.0',
  );
  assert.throws(
    () => list({ cniVersion: '0.2.0', name: 'n', plugins: [{ type: 'x' }] }),
    invalid(/cniVersion "0.2.0": berth speaks/),
  );
});

test('invalid configurations are refused naming the field', () => {
  const ok = { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'bridge' }] };
  assert.throws(
    () => parseNetworkConfig('{', { source: 'a.conflist', list: true }),
    invalid(/a.conflist: not JSON/),
  );
  assert.throws(() => list({ ...ok, name: '../etc' }), invalid(/name "..\/etc"/));
  assert.throws(() => list({ ...ok, name: undefined }), invalid(/name undefined/));
  assert.throws(() => list({ ...ok, plugins: [] }), invalid(/plugins: must be a non-empty list/));
  assert.throws(
    () => list({ ...ok, plugins: [{ type: '../../bin/sh' }] }),
    invalid(/plugins\[0\]: type "..\/..\/bin\/sh"/),
  );
  assert.throws(
    () => list({ ...ok, plugins: [{ type: 'x', capabilities: { a: 'yes' } }] }),
    invalid(/capabilities/),
  );
  assert.throws(() => list({ ...ok, disableCheck: 'true' }), invalid(/disableCheck/));
  assert.throws(() => single({ ...ok }), invalid(/has plugins: name the file .conflist/));
  assert.throws(
    () => parseNetworkConfig(`{"x":"${'a'.repeat(1024 * 1024)}"}`, { source: 'big.conf', list: false }),
    invalid(/larger than/),
  );
});

test('the conf dir: lexical order, other extensions ignored, invalid files skipped, first valid wins', async (t) => {
  const dir = tempDir(t, 'cni-confdir');
  const conf = (name: string, bridge: string) =>
    writeFileSync(join(dir, name), JSON.stringify({ cniVersion: '1.0.0', name: bridge, type: 'bridge' }));
  writeFileSync(join(dir, '00-broken.conflist'), '{ nope');
  writeFileSync(join(dir, '01-noplugins.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'x' }));
  writeFileSync(join(dir, '05-ignored.txt'), 'whatever');
  mkdirSync(join(dir, '06-dir.conf'));
  conf('20-second.conf', 'second');
  conf('10-first.json', 'first');
  symlinkSync(join(dir, 'nowhere'), join(dir, '02-dangling.conf'));
  const scan = await scanConfDir(dir);
  assert.equal(scan.network?.name, 'first');
  assert.equal(scan.network?.source, join(dir, '10-first.json'));
  assert.deepEqual(
    scan.skipped.map((s) => s.file.slice(dir.length + 1)),
    ['00-broken.conflist', '01-noplugins.conflist', '02-dangling.conf'],
  );
  assert.match(scan.skipped[1]!.reason, /plugins: must be a non-empty list/);
});

test('loadNetwork: NotFound naming the reasons when nothing is valid; a missing dir is empty', async (t) => {
  const dir = tempDir(t, 'cni-confdir');
  await assert.rejects(loadNetwork(join(dir, 'absent')), NotFoundError);
  writeFileSync(join(dir, '10-bad.conflist'), '[]');
  await assert.rejects(loadNetwork(dir), (err: unknown) => {
    assert.ok(err instanceof NotFoundError);
    assert.match(
      err.message,
      /no valid network configuration in .*\n {2}cni config .*10-bad.conflist: must be a JSON object/,
    );
    return true;
  });
});

test('the default conflist: berth0, host-local 10.89.0.0/16, portmap, no masquerade, no route out', async (t) => {
  const doc = defaultConflist();
  assert.deepEqual(doc, {
    cniVersion: '1.0.0',
    name: 'berth',
    plugins: [
      {
        type: 'bridge',
        bridge: 'berth0',
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.89.0.0/16' }]] },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
  const dir = join(tempDir(t, 'cni-default'), 'net.d');
  const written = await ensureDefaultConfig(dir);
  assert.equal(written, join(dir, DEFAULT_CONFIG_FILE));
  assert.deepEqual(JSON.parse(readFileSync(written, 'utf8')), doc);
  assert.deepEqual(readdirSync(dir), [DEFAULT_CONFIG_FILE], 'no temp file left');
  assert.equal((await loadNetwork(dir)).name, 'berth');
  assert.equal(await ensureDefaultConfig(dir), undefined, 'not rewritten');
  const other = tempDir(t, 'cni-default');
  writeFileSync(join(other, '99-admin.conf'), '{}');
  assert.equal(
    await ensureDefaultConfig(other),
    undefined,
    'any config file, even invalid, means the admin chose',
  );
  assert.deepEqual(readdirSync(other), ['99-admin.conf']);
});

test('request config: name and version inserted, capabilities and forged runtimeConfig removed', () => {
  const n = list({
    cniVersion: '0.4.0',
    name: 'n',
    plugins: [{ type: 'p', capabilities: { portMappings: true }, runtimeConfig: { x: 1 } }],
  });
  assert.deepEqual(requestConfig({ network: n, plugin: n.plugins[0]! }), {
    type: 'p',
    cniVersion: '0.4.0',
    name: 'n',
  });
  assert.deepEqual(
    requestConfig({
      network: n,
      plugin: n.plugins[0]!,
      capabilityArgs: { mac: 'x' },
      prevResult: { ips: [] },
    }),
    {
      type: 'p',
      cniVersion: '0.4.0',
      name: 'n',
      prevResult: { ips: [] },
    },
  );
});

test('results: 0.4.0 and 1.0.0 shapes, pod IPs from sandbox interfaces, malformed ones refused', () => {
  const r = parseResult(
    JSON.stringify({
      cniVersion: '0.4.0',
      interfaces: [
        { name: 'br0', mac: 'aa' },
        { name: 'veth1' },
        { name: 'eth0', sandbox: '/ns', mtu: 1500 },
      ],
      ips: [
        { version: '4', address: '10.89.0.5/16', gateway: '10.89.0.1', interface: 2 },
        { version: '6', address: 'fd00::5/64', interface: 2 },
        { version: '4', address: '192.0.2.9/24', interface: 0 },
      ],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: { nameservers: ['10.89.0.1'] },
    }),
    'bridge',
  );
  assert.deepEqual(podIps(r), ['10.89.0.5', 'fd00::5']);
  assert.deepEqual(r.dns, { nameservers: ['10.89.0.1'], search: [], options: [] });
  assert.equal(r.interfaces[2]!.mtu, 1500);
  const bad = (doc: object, re: RegExp) =>
    assert.throws(
      () => parseResult(JSON.stringify(doc), 'p'),
      (err: unknown) => err instanceof CniPluginError && re.test(err.message),
    );
  bad({ ips: [{ address: '10.0.0.1' }] }, /ips\[0\].address "10.0.0.1": not CIDR/);
  bad({ ips: [{ address: '10.0.0.1/33' }] }, /not CIDR/);
  bad({ ips: [{ address: '10.0.0.1/8', interface: 4 }] }, /no such interface/);
  bad({ routes: [{ dst: 'default' }] }, /routes\[0\].dst/);
  bad({ interfaces: {} }, /interfaces: not a list/);
  assert.throws(() => parseResult('nope', 'p'), /printed no valid result/);
});
