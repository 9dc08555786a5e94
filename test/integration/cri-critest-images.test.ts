// critest v1.29's "[k8s.io] Image Manager" specs against berthd, offline: critest pulls from gcr.io,
// which these machines cannot reach, and `--registry-prefix` does not help (critest then checks
// RepoTags against the gcr.io names it never pulled). So, as ../shared/critest-images does for
// containerd, the names stay and berth's registry hosts config (containerd's certs.d/hosts.toml form)
// mirrors gcr.io and registry.k8s.io to a local registry holding look-alike images: for these specs
// only their ids, tags and config User matter, so small marker images do. The digest spec pulls a
// manifest digest no rebuild can reproduce and is skipped (the containerd reference run skips it too).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { critest, markerImage, startBerthd } from '../harness/berthd.ts';
import { startRegistry } from '../harness/registry.ts';
import { needs } from '../harness/requirements.ts';
import { skopeoCopy } from '../harness/skopeo.ts';
import { tempDir } from '../harness/tmp.ts';

const skip =
  critest === undefined
    ? 'needs critest v1.29 (scripts/install-cri-tools builds it)'
    : needs('docker-registry', 'skopeo');

/** critest's image names under gcr.io/k8s-staging-cri-tools/ (cri-tools pkg/validate/consts.go). */
const repoPath = 'k8s-staging-cri-tools';
/** name:tag → [marker (one image per marker), config User]. */
const critestImages: Record<string, [string, string?]> = {
  'test-image-latest:latest': ['latest'],
  'test-image-tag:test': ['tag-test'],
  'test-image-tag:all': ['tag-all'],
  'test-image-user-uid:latest': ['user-uid', '1002'],
  'test-image-user-username:latest': ['user-username', 'www-data'],
  'test-image-user-uid-group:latest': ['user-uid-group', '1003:1004'],
  'test-image-user-username-group:latest': ['user-username-group', 'www-data:1004'],
  'test-image-1:latest': ['image-1'],
  'test-image-2:latest': ['image-2'],
  'test-image-3:latest': ['image-3'],
  // one image under three tags: critest expects one id carrying all three
  'test-image-tags:1': ['tags'],
  'test-image-tags:2': ['tags'],
  'test-image-tags:3': ['tags'],
};

/** `<dir>/<host>/hosts.toml` sending pulls for `host` to the local registry first (containerd's form). */
function mirror(dir: string, host: string, registryHost: string): void {
  mkdirSync(join(dir, host), { recursive: true });
  const toml = `server = "https://${host}"\n\n[host."http://${registryHost}"]\n  capabilities = ["pull", "resolve"]\n`;
  writeFileSync(join(dir, host, 'hosts.toml'), toml);
}

test('critest [k8s.io] Image Manager: every spec but the digest one passes', { skip }, async (t) => {
  const work = tempDir(t, 'critest-images');
  const registry = await startRegistry(t, { auth: 'none' });
  const built = new Map<string, Awaited<ReturnType<typeof markerImage>>>();
  for (const [name, [marker, user]] of Object.entries(critestImages)) {
    let image = built.get(marker);
    if (image === undefined) {
      image = await markerImage(work, marker, user === undefined ? {} : { User: user });
      built.set(marker, image);
    }
    await skopeoCopy(`oci:${image.layoutDir}:latest`, `docker://${registry.host}/${repoPath}/${name}`, {
      preserveDigests: true,
    });
  }
  const certs = join(work, 'certs.d');
  mirror(certs, 'gcr.io', registry.host);
  mirror(certs, 'registry.k8s.io', registry.host);
  const cni = tempDir(t, 'cni');
  const d = await startBerthd(t, {
    config: `[registry]\nconfig_path = ${JSON.stringify(certs)}\n[cri]\ncni_conf_dir = ${JSON.stringify(cni)}\n`,
  });

  const r = spawnSync(
    critest as string,
    [
      '--runtime-endpoint',
      `unix://${d.sock}`,
      '--ginkgo.focus=\\[k8s.io\\] Image Manager',
      '--ginkgo.skip=public image with digest',
      '--ginkgo.no-color',
    ],
    { encoding: 'utf8', cwd: work, timeout: 300_000 },
  );
  const summary = /Ran (\d+) of \d+ Specs[^\n]*\n(?:SUCCESS|FAIL)! -- (\d+) Passed \| (\d+) Failed/.exec(
    r.stdout,
  );
  assert.ok(summary !== null, `no ginkgo summary:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
  const [, ran, passed, failed] = summary;
  assert.equal(failed, '0', r.stdout.slice(-6000));
  assert.equal(passed, ran);
  assert.equal(ran, '6', 'the 7 Image Manager specs but the digest one');
  assert.equal(r.status, 0);
});
