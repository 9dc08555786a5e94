// The image of bench/run.ts: the test fixtures' busybox layer (Debian's busybox-static with its applet
// links, /etc/passwd, /etc/group, /tmp; test/harness/fixtures.ts) and their image config, written by
// berth's image builder as one OCI layout; and the floor's bundle: that layer extracted as the rootfs
// and `runc spec`'s config.json with no terminal and `true` as the process.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OciLayout } from '../src/content/index.ts';
import { writeImage, writeLayer } from '../src/imagebuild/index.ts';
import { baseLayerEntries, fixtureConfig, fixtureTag, hostPlatform } from '../test/harness/fixtures.ts';

export interface BenchRunImage {
  layoutDir: string;
  /** `oci:<layoutDir>:latest`, for skopeo. */
  ociReference: string;
  manifestDigest: string;
  layerDigest: string;
  /** The gzip layer blob inside the layout. */
  layerPath: string;
}

export async function buildBusyboxImage(layoutDir: string): Promise<BenchRunImage> {
  const layout = await OciLayout.create(layoutDir);
  const layer = await writeLayer(layout, baseLayerEntries(), { createdBy: 'busybox' });
  const image = await writeImage(layout, {
    platform: hostPlatform(),
    layers: [layer],
    config: fixtureConfig,
    format: 'oci',
  });
  await layout.addManifest(image.manifest, fixtureTag);
  return {
    layoutDir,
    ociReference: `oci:${layoutDir}:${fixtureTag}`,
    manifestDigest: image.manifest.digest,
    layerDigest: layer.digest,
    layerPath: layout.blobPath(layer.digest),
  };
}

/**
 * `<dir>/rootfs` (the image's layer, extracted by GNU tar) and `<dir>/config.json` from `runc spec`
 * (runc's defaults: pid, network, ipc, uts and mount namespaces, read-only rootfs, no cgroupsPath),
 * adjusted to run `true` without a terminal. Both runtimes read the same bundle.
 */
export function writeFloorBundle(dir: string, image: BenchRunImage): string {
  const rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs, { recursive: true });
  execFileSync('tar', ['-xzf', image.layerPath, '--numeric-owner', '-C', rootfs]);
  execFileSync('runc', ['spec'], { cwd: dir });
  const configPath = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as {
    process: { terminal: boolean; args: string[] };
  };
  config.process.terminal = false;
  config.process.args = ['true'];
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return dir;
}
