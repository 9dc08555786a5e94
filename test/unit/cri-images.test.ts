// The CRI image side's pure parts: the catalog's grouping and lookups over a fake image store, the
// runtime.v1 Image mapping (tags, digests, uid/username, pinned), AuthConfig → credentials, the
// image filesystem usage cache, NetworkReady from a conf-dir scan, the pod CIDR setting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { type FsUsage, UsageCache } from '../../src/cri/fs-usage.ts';
import { AuthConfigSchema } from '../../src/cri/gen/api_pb.js';
import { ImageCatalog, type ImageSource } from '../../src/cri/image-catalog.ts';
import { imageUser, repoDigests, repoTags, toCriImage, verboseImageInfo } from '../../src/cri/image-view.ts';
import { NETWORK_NOT_READY_REASON, networkStatusOf } from '../../src/cri/network-status.ts';
import { PinnedImages } from '../../src/cri/pinned-images.ts';
import { pullCredentials, serverHost } from '../../src/cri/pull-auth.ts';
import { RuntimeSettings } from '../../src/cri/runtime-settings.ts';
import { InvalidArgumentError, NotFoundError } from '../../src/errdefs/index.ts';
import type { ImageDetails } from '../../src/images/index.ts';
import type { Image } from '../../src/metadata/index.ts';
import type { ImageConfig } from '../../src/oci/image/index.ts';

const hex = (c: string) => c.repeat(64);
const digest = (c: string) => `sha256:${hex(c)}`;

function config(user?: string): ImageConfig {
  return {
    architecture: 'amd64',
    os: 'linux',
    ...(user === undefined ? {} : { config: { User: user } }),
    rootfs: { type: 'layers', diff_ids: [digest('d')] },
  };
}

/** A fake image store: names → target digest → (config digest, config). */
function fakeStore(
  names: Record<string, string>,
  targets: Record<string, { configDigest: string; user?: string; size?: number } | 'no-platform'>,
) {
  const inspected: string[] = [];
  const source: ImageSource = {
    list: () =>
      Object.entries(names).map(
        ([name, t]): Image => ({
          name,
          target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: t, size: 100 },
          labels: {},
          created: '',
          updated: '',
        }),
      ),
    async inspect(name: string) {
      inspected.push(name);
      const t = names[name];
      if (t === undefined) throw new NotFoundError(`image "${name}": not found`);
      const facts = targets[t];
      if (facts === undefined || facts === 'no-platform')
        throw new NotFoundError('no manifest for this platform');
      return {
        name,
        configDescriptor: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: facts.configDigest,
          size: 1,
        },
        config: config(facts.user),
        size: facts.size ?? 1234,
        chainID: digest('c'),
      } as unknown as ImageDetails;
    },
  };
  return { source, inspected, names };
}

const busybox = 'docker.io/library/busybox:latest';
const busybox2 = 'docker.io/library/busybox:1.36';
const pause = 'registry.k8s.io/pause:3.9';
const byDigest = `registry.k8s.io/pause@${digest('2')}`;

function store() {
  return fakeStore(
    { [busybox]: digest('1'), [busybox2]: digest('1'), [pause]: digest('2'), [byDigest]: digest('2') },
    {
      [digest('1')]: { configDigest: digest('a'), user: '1000:1000' },
      [digest('2')]: { configDigest: digest('b'), user: 'nobody' },
    },
  );
}

test('catalog: names grouped by config digest, sorted; the platform-less skipped', async () => {
  const s = store();
  s.names['example.com/arm-only:1'] = digest('3');
  const catalog = new ImageCatalog(s.source);
  const images = await catalog.list();
  assert.deepEqual(
    images.map((i) => [i.id, i.names.map((n) => n.name)]),
    [
      [digest('a'), [busybox2, busybox]],
      [digest('b'), [pause, byDigest]],
    ],
  );
  // Cached by target digest: a second listing reads no manifest or config again.
  const before = s.inspected.length;
  await catalog.list();
  assert.equal(s.inspected.length, before + 1, 'only the one that failed is asked again');
});

test('catalog: resolve by id, bare hex, short id, name, short name, repo digest; absent; errors', async () => {
  const catalog = new ImageCatalog(store().source);
  const idOf = async (ref: string) => (await catalog.resolve(ref))?.id;
  assert.equal(await idOf(digest('a')), digest('a'));
  assert.equal(await idOf(hex('a')), digest('a'));
  assert.equal(await idOf('aaaaaaaaaaaa'), digest('a'), 'a truncated id, as crictl images shows');
  assert.equal(await idOf('sha256:bbbb'), digest('b'));
  assert.equal(await idOf('busybox'), digest('a'), 'short names normalised, :latest added');
  assert.equal(await idOf('busybox:1.36'), digest('a'));
  assert.equal(await idOf(`registry.k8s.io/pause@${digest('2')}`), digest('b'));
  assert.equal(await idOf(`docker.io/library/busybox@${digest('1')}`), digest('a'), 'a repo_digests entry');
  assert.equal(
    await idOf(`docker.io/library/other@${digest('1')}`),
    undefined,
    'digest of another repository',
  );
  assert.equal(await idOf('busybox:absent'), undefined);
  assert.equal(await idOf(digest('f')), undefined);
  assert.equal(await idOf('cccc'), undefined, 'hex that is neither a name nor an id prefix');
  await assert.rejects(catalog.resolve('Bad:Ref:x'), InvalidArgumentError);

  const twins = fakeStore(
    { 'a/x:1': digest('1'), 'a/y:1': digest('2') },
    {
      [digest('1')]: { configDigest: `sha256:ab${hex('1').slice(2)}` },
      [digest('2')]: { configDigest: `sha256:ac${hex('2').slice(2)}` },
    },
  );
  await assert.rejects(new ImageCatalog(twins.source).resolve('a'), /matches 2 images/);
});

test('catalog filter: empty = all, a repository = its tags, else one image', async () => {
  const catalog = new ImageCatalog(store().source);
  const ids = async (ref: string) => (await catalog.filter(ref)).map((i) => i.id);
  assert.deepEqual(await ids(''), [digest('a'), digest('b')]);
  assert.deepEqual(await ids('busybox'), [digest('a')]);
  assert.deepEqual(await ids('registry.k8s.io/pause'), [digest('b')]);
  assert.deepEqual(await ids('busybox:absent'), []);
  assert.deepEqual(await ids(digest('b')), [digest('b')]);
});

test('Image view: repo tags without digest names, repo digests once per repo, user, pinned, size', async () => {
  const [a, b] = await new ImageCatalog(store().source).list();
  assert.ok(a !== undefined && b !== undefined);
  assert.deepEqual(repoTags(a), [busybox2, busybox]);
  assert.deepEqual(repoDigests(a), [`docker.io/library/busybox@${digest('1')}`]);
  assert.deepEqual(repoTags(b), [pause], 'the name pulled by digest is no tag');
  assert.deepEqual(repoDigests(b), [`registry.k8s.io/pause@${digest('2')}`]);

  const pinned = new PinnedImages(['registry.k8s.io/pause:3.9']);
  const view = toCriImage(a, pinned);
  assert.equal(view.size, 1234n);
  assert.deepEqual(view.uid, { value: 1000n });
  assert.equal(view.username, '');
  assert.equal(view.pinned, false);
  assert.equal(toCriImage(b, pinned).pinned, true);
  assert.equal(toCriImage(b, pinned).username, 'nobody');
  assert.equal(toCriImage(a, new PinnedImages([digest('a')])).pinned, true, 'pinned by id');
  assert.equal(toCriImage(b, new PinnedImages([byDigest])).pinned, true, 'pinned by digest');

  const info = JSON.parse(verboseImageInfo(a).info ?? '') as { chainID: string; imageSpec: ImageConfig };
  assert.equal(info.chainID, digest('c'));
  assert.equal(info.imageSpec.config?.User, '1000:1000');
});

test('imageUser: api.proto uid xor username from the config User', () => {
  assert.deepEqual(imageUser(config()), { username: '' });
  assert.deepEqual(imageUser(config('')), { username: '' });
  assert.deepEqual(imageUser(config('1002')), { uid: 1002n, username: '' });
  assert.deepEqual(imageUser(config('1003:1004')), { uid: 1003n, username: '' });
  assert.deepEqual(imageUser(config('0')), { uid: 0n, username: '' });
  assert.deepEqual(imageUser(config('www-data:1004')), { username: 'www-data' });
  assert.deepEqual(
    imageUser(config('99999999999999999999')),
    { username: '99999999999999999999' },
    'over int64',
  );
});

test('PinnedImages: a bad entry names the config key and index', () => {
  assert.throws(
    () => new PinnedImages(['busybox', 'Bad:Ref:x']),
    (err: unknown) => err instanceof InvalidArgumentError && /^cri\.pinned_images\[1\]: /.test(err.message),
  );
});

test('pullCredentials: AuthConfig fields, precedence, host from server_address', () => {
  const auth = (init: Parameters<typeof create<typeof AuthConfigSchema>>[1]) =>
    create(AuthConfigSchema, init);
  assert.equal(pullCredentials(undefined, 'docker.io'), undefined);
  assert.equal(pullCredentials(auth({}), 'docker.io'), undefined, 'all empty: anonymous');
  assert.deepEqual(pullCredentials(auth({ username: 'u', password: 'p' }), 'r.example:5000'), {
    host: 'r.example:5000',
    credentials: { username: 'u', password: 'p' },
  });
  const b64 = Buffer.from('user:pa:ss').toString('base64');
  assert.deepEqual(pullCredentials(auth({ auth: b64 }), 'h')?.credentials, {
    username: 'user',
    password: 'pa:ss',
  });
  assert.deepEqual(
    pullCredentials(auth({ auth: b64, username: 'explicit', password: 'x' }), 'h')?.credentials,
    { username: 'explicit', password: 'x' },
    'username/password win over auth',
  );
  assert.deepEqual(pullCredentials(auth({ identityToken: 'refresh' }), 'h')?.credentials, {
    identityToken: 'refresh',
  });
  assert.deepEqual(pullCredentials(auth({ registryToken: 'bearer' }), 'h')?.credentials, {
    registryToken: 'bearer',
  });
  assert.equal(
    pullCredentials(auth({ username: 'u', password: 'p', serverAddress: 'https://index.docker.io/v1/' }), 'x')
      ?.host,
    'docker.io',
  );
  assert.throws(
    () => pullCredentials(auth({ auth: Buffer.from('nocolon').toString('base64') }), 'h'),
    /auth\.auth: not the base64/,
  );
  assert.equal(serverHost('http://127.0.0.1:5000/v2/'), '127.0.0.1:5000');
  assert.equal(serverHost('registry-1.docker.io'), 'docker.io');
  assert.equal(serverHost('quay.io'), 'quay.io');
});

test('UsageCache: one measurement shared, reused while fresh, redone after invalidate', async () => {
  let runs = 0;
  let release: () => void = () => undefined;
  const measure = async (): Promise<FsUsage> => {
    runs++;
    await new Promise<void>((resolve) => {
      release = resolve;
    });
    return { bytes: runs * 10, inodes: runs, at: Date.now() };
  };
  const cache = new UsageCache(measure, 60_000);
  const a = cache.get();
  const b = cache.get();
  release();
  assert.deepEqual((await a).bytes, 10);
  assert.deepEqual((await b).bytes, 10);
  assert.equal((await cache.get()).bytes, 10, 'fresh: not measured again');
  assert.equal(runs, 1);

  cache.invalidate();
  const c = cache.get();
  release();
  assert.equal((await c).bytes, 20);

  // A caller whose call is canceled stops waiting; the measurement goes on for the others.
  cache.invalidate();
  const ac = new AbortController();
  const d = cache.get(ac.signal);
  const e = cache.get();
  ac.abort();
  await assert.rejects(d, /canceled/);
  release();
  assert.equal((await e).bytes, 30);
});

test('networkStatusOf: ready with a network; NetworkPluginNotReady naming the skipped files', () => {
  const ready = networkStatusOf('/etc/cni/net.d', {
    network: {
      name: 'berth',
      cniVersion: '1.0.0',
      disableCheck: false,
      plugins: [],
      source: '/x/10-b.conflist',
    },
    skipped: [],
  });
  assert.equal(ready.ready, true);
  assert.equal(ready.reason, '');
  const notReady = networkStatusOf('/etc/cni/net.d', {
    skipped: [{ file: '/etc/cni/net.d/a.conf', reason: 'bad json' }],
  });
  assert.equal(notReady.ready, false);
  assert.equal(notReady.reason, NETWORK_NOT_READY_REASON);
  assert.match(
    notReady.message,
    /no valid network configuration in \/etc\/cni\/net\.d \(\/etc\/cni\/net\.d\/a\.conf: bad json\)/,
  );
});

test('RuntimeSettings: pod CIDRs (dual stack), empty keeps, bad refused', () => {
  const s = new RuntimeSettings();
  s.setPodCidr('10.244.1.0/24, fd00:1::/64');
  assert.deepEqual(s.podCidrs, ['10.244.1.0/24', 'fd00:1::/64']);
  s.setPodCidr('');
  assert.deepEqual(s.podCidrs, ['10.244.1.0/24', 'fd00:1::/64']);
  assert.throws(() => s.setPodCidr('10.0.0.0'), InvalidArgumentError);
  assert.throws(() => s.setPodCidr('10.0.0.0/24,nope'), /pod_cidr: "nope"/);
});
