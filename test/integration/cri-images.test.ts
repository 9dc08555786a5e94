// berthd's ImageService and runtime status RPCs over its socket (issue 5), against a real registry
// (Debian's docker-registry) holding images pushed by skopeo: through connect's typed gRPC client,
// which needs nothing more and so runs in CI, and through crictl v1.29 when it is built.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import { CgroupDriver, type Image } from '../../src/cri/gen/api_pb.js';
import {
  type Berthd,
  crictlRun,
  crictlSkip,
  type MarkerImage,
  markerImage,
  startBerthd,
} from '../harness/berthd.ts';
import { type RegistryAuth, startRegistry, type TestRegistry } from '../harness/registry.ts';
import { needs } from '../harness/requirements.ts';
import { skopeoCopy } from '../harness/skopeo.ts';
import { tempDir } from '../harness/tmp.ts';

const skip = needs('docker-registry', 'skopeo');

/** Pushes `image` as <registry>/berth-test/<repo>:<tag>; returns that reference. */
async function push(
  registry: TestRegistry,
  image: MarkerImage,
  repo: string,
  tag = 'latest',
): Promise<string> {
  const ref = `${registry.host}/berth-test/${repo}:${tag}`;
  const creds =
    registry.username === undefined
      ? {}
      : { creds: { username: registry.username, password: registry.password ?? '' } };
  await skopeoCopy(`oci:${image.layoutDir}:latest`, `docker://${ref}`, { ...creds, preserveDigests: true });
  return ref;
}

function code(err: unknown): Code {
  return ConnectError.from(err).code;
}

/** Rejects with `expected`, the message matching `message` when given. */
async function rejectsWith(p: Promise<unknown>, expected: Code, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err) => {
    assert.equal(code(err), expected, String(err));
    if (message !== undefined) assert.match(ConnectError.from(err).rawMessage, message);
    return true;
  });
}

const repoOf = (ref: string) => ref.slice(0, ref.lastIndexOf(':'));
const blobPath = (d: Berthd, digest: string) =>
  join(d.root, 'content/blobs/sha256', digest.slice('sha256:'.length));

describe('berthd ImageService and Status', { skip }, () => {
  // The images are built once for the suite and removed when it ends.
  const work = skip ? '' : tempDir({ after: (cleanup: () => void) => after(cleanup) }, 'cri-images');
  let built: Promise<Record<'plain' | 'other' | 'uid' | 'named', MarkerImage>> | undefined;
  const images = () => {
    built ??= Promise.all([
      markerImage(work, 'plain'),
      markerImage(work, 'other'),
      markerImage(work, 'uid', { User: '1002:1003' }),
      markerImage(work, 'named', { User: 'www-data:1004' }),
    ]).then(([plain, other, uid, named]) => ({ plain, other, uid, named }));
    return built;
  };

  const start = async (
    t: Parameters<typeof startBerthd>[0],
    registryAuth: RegistryAuth,
    pinned: string[] = [],
  ) => {
    const registry = await startRegistry(t, { auth: registryAuth });
    const cniDir = tempDir(t, 'cni');
    const d = await startBerthd(t, {
      config: `[cri]\ncni_conf_dir = ${JSON.stringify(cniDir)}\npinned_images = ${JSON.stringify(pinned)}\n`,
    });
    return { registry, cniDir, d };
  };

  test('pull, list, status by id, short id, name and repo digest, remove (twice), fs info', async (t) => {
    const img = await images();
    const registry = await startRegistry(t, { auth: 'none' });
    const plain = await push(registry, img.plain, 'plain');
    const plainV2 = await push(registry, img.plain, 'plain', 'v2');
    const other = await push(registry, img.other, 'other');
    const uid = await push(registry, img.uid, 'uid');
    const named = await push(registry, img.named, 'named');
    const cniDir = tempDir(t, 'cni');
    const d = await startBerthd(t, {
      config: `[cri]\ncni_conf_dir = ${JSON.stringify(cniDir)}\npinned_images = [${JSON.stringify(other)}]\n`,
    });

    assert.equal((await d.images.imageStatus({ image: { image: plain } })).image, undefined, 'absent: unset');
    assert.equal((await d.images.pullImage({ image: { image: plain } })).imageRef, img.plain.configDigest);
    assert.equal((await d.images.pullImage({ image: { image: plainV2 } })).imageRef, img.plain.configDigest);
    for (const ref of [other, uid, named]) await d.images.pullImage({ image: { image: ref } });

    // One entry per image id, carrying both names of `plain`.
    const list = (await d.images.listImages({})).images;
    assert.deepEqual(
      list.map((i) => i.id).sort(),
      [...new Set([img.plain, img.other, img.uid, img.named].map((i) => i.configDigest))].sort(),
    );
    const p = list.find((i) => i.id === img.plain.configDigest) as Image;
    assert.deepEqual(p.repoTags, [plain, plainV2]);
    assert.deepEqual(p.repoDigests, [`${repoOf(plain)}@${img.plain.manifestDigest}`]);
    assert.equal(p.size, BigInt(img.plain.size));
    assert.equal(p.uid, undefined);
    assert.equal(p.username, '');
    assert.equal(p.pinned, false);
    assert.equal(list.find((i) => i.id === img.other.configDigest)?.pinned, true, 'cri.pinned_images');

    // ImageStatus finds the same image by every name ListImages gave it, and by (short) id.
    const status = (await d.images.imageStatus({ image: { image: plain } })).image;
    assert.deepEqual(status, p);
    for (const ref of [
      p.id,
      p.id.slice('sha256:'.length),
      p.id.slice(0, 'sha256:'.length + 12),
      p.id.slice('sha256:'.length, 'sha256:'.length + 13), // crictl images' IMAGE ID column
      plainV2,
      ...p.repoDigests,
    ]) {
      assert.deepEqual((await d.images.imageStatus({ image: { image: ref } })).image, p, ref);
    }
    const verbose = await d.images.imageStatus({ image: { image: plain }, verbose: true });
    const info = JSON.parse(verbose.info.info ?? '{}') as { imageSpec: { rootfs: { diff_ids: string[] } } };
    assert.equal(info.imageSpec.rootfs.diff_ids.length, 1);

    // The config's User: a number is the uid, a name the username (the group is not reported).
    const u = (await d.images.imageStatus({ image: { image: uid } })).image;
    assert.equal(u?.uid?.value, 1002n);
    assert.equal(u?.username, '');
    const n = (await d.images.imageStatus({ image: { image: named } })).image;
    assert.equal(n?.uid, undefined);
    assert.equal(n?.username, 'www-data');

    // Filters: a repository without a tag selects its tags; a tagged name or an id selects one.
    const byRepo = await d.images.listImages({ filter: { image: { image: repoOf(plain) } } });
    assert.deepEqual(
      byRepo.images.map((i) => i.id),
      [p.id],
    );
    const byName = await d.images.listImages({ filter: { image: { image: other } } });
    assert.deepEqual(
      byName.images.map((i) => i.id),
      [img.other.configDigest],
    );
    assert.equal(
      (await d.images.listImages({ filter: { image: { image: 'nothing/here' } } })).images.length,
      0,
    );

    // The snapshotter's directory holds the unpacked layers.
    const fs = (await d.images.imageFsInfo({})).imageFilesystems[0];
    assert.equal(fs?.fsId?.mountpoint, join(d.root, 'snapshots/overlayfs'));
    assert.ok((fs?.usedBytes?.value ?? 0n) > 0n, 'bytes used');
    assert.ok((fs?.inodesUsed?.value ?? 0n) >= 4n, 'inodes used: directories and the marker files');
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    assert.ok(nowNs - (fs?.timestamp ?? 0n) < 60_000_000_000n, 'timestamp in nanoseconds, recent');

    // Removing by id removes both names; the collector then frees the image's blobs.
    assert.ok(existsSync(blobPath(d, img.plain.configDigest)));
    await d.images.removeImage({ image: { image: p.id } });
    assert.equal((await d.images.imageStatus({ image: { image: plain } })).image, undefined);
    assert.equal((await d.images.imageStatus({ image: { image: plainV2 } })).image, undefined);
    assert.equal(existsSync(blobPath(d, img.plain.configDigest)), false, 'config blob collected');
    assert.ok(existsSync(blobPath(d, img.other.configDigest)), 'other images keep theirs');
    const fsAfter = (await d.images.imageFsInfo({})).imageFilesystems[0];
    assert.ok(
      (fsAfter?.inodesUsed?.value ?? 0n) < (fs?.inodesUsed?.value ?? 0n),
      'the freed snapshot shows at once',
    );
    // api.proto: "must not return an error if the image has already been removed"
    await d.images.removeImage({ image: { image: p.id } });
    await d.images.removeImage({ image: { image: plain } });
    // Removing by name removes the image (all its names), as containerd does.
    await d.images.removeImage({ image: { image: uid } });
    assert.equal((await d.images.imageStatus({ image: { image: uid } })).image, undefined);
  });

  test('bad requests are InvalidArgument naming the field; missing images NotFound', async (t) => {
    const { registry, d } = await start(t, 'none');
    await rejectsWith(d.images.pullImage({}), Code.InvalidArgument, /^image\.image: /);
    await rejectsWith(
      d.images.pullImage({ image: { image: 'berth-test/Upper' } }),
      Code.InvalidArgument,
      /^image\.image: /,
    );
    await rejectsWith(
      d.images.imageStatus({ image: { image: '' } }),
      Code.InvalidArgument,
      /^image\.image: /,
    );
    await rejectsWith(d.images.removeImage({}), Code.InvalidArgument, /^image\.image: /);
    await rejectsWith(
      d.images.listImages({ filter: { image: { image: 'Bad:Ref:x' } } }),
      Code.InvalidArgument,
      /^filter\.image\.image: /,
    );
    await rejectsWith(
      d.images.pullImage({
        image: { image: `${registry.host}/berth-test/plain:latest` },
        auth: { auth: 'bm8tY29sb24=' },
      }),
      Code.InvalidArgument,
      /^auth\.auth: /,
    );
    await rejectsWith(
      d.images.pullImage({ image: { image: `${registry.host}/berth-test/absent:1` } }),
      Code.NotFound,
    );
    await rejectsWith(
      d.runtime.updateRuntimeConfig({ runtimeConfig: { networkConfig: { podCidr: '10.0.0.0/99' } } }),
      Code.InvalidArgument,
      /^runtime_config\.network_config\.pod_cidr: /,
    );
    assert.equal(d.proc.exitCode, null, 'berthd is still running');
  });

  test('PullImage with AuthConfig credentials from a basic-auth registry, for that pull only', async (t) => {
    const img = await images();
    const { registry, d } = await start(t, 'basic');
    const ref = await push(registry, img.plain, 'plain');
    const username = registry.username ?? '';
    const password = registry.password ?? '';

    await rejectsWith(d.images.pullImage({ image: { image: ref } }), Code.Unauthenticated);
    await rejectsWith(
      d.images.pullImage({ image: { image: ref }, auth: { username, password: 'wrong' } }),
      Code.Unauthenticated,
    );
    const pulled = await d.images.pullImage({ image: { image: ref }, auth: { username, password } });
    assert.equal(pulled.imageRef, img.plain.configDigest);
    // The credentials went with that pull: a pull without them is refused again.
    await rejectsWith(d.images.pullImage({ image: { image: ref } }), Code.Unauthenticated);

    await d.images.removeImage({ image: { image: pulled.imageRef } });
    const auth = Buffer.from(`${username}:${password}`).toString('base64');
    const byAuth = await d.images.pullImage({
      image: { image: ref },
      auth: { auth, serverAddress: `http://${registry.host}/v2/` },
    });
    assert.equal(byAuth.imageRef, img.plain.configDigest);
    // Credentials for another host are not sent to this one.
    await rejectsWith(
      d.images.pullImage({
        image: { image: ref },
        auth: { username, password, serverAddress: 'example.com' },
      }),
      Code.Unauthenticated,
    );
  });

  test('Status: RuntimeReady, NetworkReady from the CNI conf dir; RuntimeConfig; UpdateRuntimeConfig', async (t) => {
    const { cniDir, d } = await start(t, 'none');
    const conditions = async (verbose = false) => {
      const r = await d.runtime.status({ verbose });
      return {
        byType: Object.fromEntries((r.status?.conditions ?? []).map((c) => [c.type, c])),
        info: r.info,
      };
    };
    let s = await conditions();
    assert.equal(s.byType.RuntimeReady?.status, true);
    assert.equal(s.byType.NetworkReady?.status, false);
    assert.equal(s.byType.NetworkReady?.reason, 'NetworkPluginNotReady');
    assert.match(s.byType.NetworkReady?.message ?? '', /no valid network configuration in/);

    writeFileSync(join(cniDir, '05-broken.conflist'), '{not json');
    s = await conditions();
    assert.equal(s.byType.NetworkReady?.status, false);
    assert.match(s.byType.NetworkReady?.message ?? '', /05-broken\.conflist/);

    mkdirSync(cniDir, { recursive: true });
    writeFileSync(
      join(cniDir, '10-test.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'test-net',
        plugins: [{ type: 'bridge', bridge: 'cni-test0' }],
      }),
    );
    s = await conditions(true);
    assert.equal(s.byType.NetworkReady?.status, true);
    assert.equal(s.byType.NetworkReady?.reason, '');
    // Every info value is JSON (crictl info pastes them into its own JSON).
    const info = Object.fromEntries(Object.entries(s.info).map(([k, v]) => [k, JSON.parse(v) as unknown]));
    assert.equal((info.cniconfig as { network: { name: string } }).network.name, 'test-net');
    assert.equal((info.config as { root: string }).root, d.root);
    assert.deepEqual(info.podCIDRs, []);

    const rc = await d.runtime.runtimeConfig({});
    assert.equal(rc.linux?.cgroupDriver, CgroupDriver.CGROUPFS);

    await d.runtime.updateRuntimeConfig({
      runtimeConfig: { networkConfig: { podCidr: '10.88.0.0/16,fd00::/64' } },
    });
    await d.runtime.updateRuntimeConfig({ runtimeConfig: { networkConfig: { podCidr: '' } } }); // kept
    s = await conditions(true);
    assert.deepEqual(JSON.parse(s.info.podCIDRs ?? ''), ['10.88.0.0/16', 'fd00::/64']);
  });

  test('crictl: pull, images, inspecti, rmi (twice), pull --creds, info, imagefsinfo', {
    skip: crictlSkip,
  }, async (t) => {
    const img = await images();
    const { registry, cniDir, d } = await start(t, 'none');
    const ref = await push(registry, img.plain, 'plain');
    const id = img.plain.configDigest;

    const pull = crictlRun(d, 'pull', ref);
    assert.equal(pull.status, 0, pull.stderr);
    assert.equal(pull.stdout.trim(), `Image is up to date for ${id}`);

    // The table: IMAGE, TAG, IMAGE ID (13 hex digits), SIZE.
    const table = crictlRun(d, 'images');
    assert.equal(table.status, 0, table.stderr);
    const rows = table.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/\s{2,}/));
    assert.deepEqual(rows[0], ['IMAGE', 'TAG', 'IMAGE ID', 'SIZE']);
    assert.deepEqual(rows[1]?.slice(0, 3), [repoOf(ref), 'latest', id.slice(7, 20)]);
    const json = JSON.parse(crictlRun(d, 'images', '-o', 'json').stdout) as { images: { id: string }[] };
    assert.deepEqual(
      json.images.map((i) => i.id),
      [id],
    );

    const inspect = crictlRun(d, 'inspecti', ref);
    assert.equal(inspect.status, 0, inspect.stderr);
    const shown = JSON.parse(inspect.stdout) as {
      status: { id: string; repoTags: string[]; size: string };
      info: { chainID: string; imageSpec: { os: string } };
    };
    assert.equal(shown.status.id, id);
    assert.deepEqual(shown.status.repoTags, [ref]);
    assert.equal(shown.status.size, String(img.plain.size));
    assert.equal(shown.info.imageSpec.os, 'linux');
    assert.match(shown.info.chainID, /^sha256:[0-9a-f]{64}$/);

    const rmi = crictlRun(d, 'rmi', id.slice(7, 20)); // by the short id crictl images shows
    assert.equal(rmi.status, 0, rmi.stderr);
    assert.equal(rmi.stdout.trim(), `Deleted: ${ref}`);
    // crictl asks ImageStatus first and refuses client-side; the API itself answers OK (api.proto).
    const again = crictlRun(d, 'rmi', ref);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /no such image/);
    await d.images.removeImage({ image: { image: ref } });

    const info = crictlRun(d, 'info');
    assert.equal(info.status, 0, info.stderr);
    const conditions = (
      JSON.parse(info.stdout) as { status: { conditions: { type: string; status: boolean }[] } }
    ).status.conditions;
    assert.deepEqual(
      conditions.map((c) => [c.type, c.status]),
      [
        ['RuntimeReady', true],
        ['NetworkReady', false],
      ],
    );
    writeFileSync(
      join(cniDir, '10-test.conflist'),
      JSON.stringify({ cniVersion: '1.0.0', name: 'test-net', plugins: [{ type: 'bridge' }] }),
    );
    const ready = JSON.parse(crictlRun(d, 'info').stdout) as {
      status: { conditions: { status: boolean }[] };
    };
    assert.equal(ready.status.conditions[1]?.status, true);

    const basic = await startRegistry(t, { auth: 'basic' });
    const secret = await push(basic, img.other, 'other');
    const denied = crictlRun(d, 'pull', secret);
    assert.equal(denied.status, 1);
    assert.match(denied.stderr, /code = Unauthenticated/);
    const creds = crictlRun(d, 'pull', '--creds', `${basic.username}:${basic.password}`, secret);
    assert.equal(creds.status, 0, creds.stderr);

    const fs = crictlRun(d, 'imagefsinfo', '-o', 'json');
    assert.equal(fs.status, 0, fs.stderr);
    const usage = (
      JSON.parse(fs.stdout) as {
        status: { imageFilesystems: { usedBytes: { value: string }; inodesUsed: { value: string } }[] };
      }
    ).status.imageFilesystems[0];
    assert.ok(Number(usage?.usedBytes.value) > 0, fs.stdout);
    assert.ok(Number(usage?.inodesUsed.value) > 0);
  });
});
