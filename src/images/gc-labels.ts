// Garbage-collection references kept as labels on blobs, as containerd does (core/metadata/gc.go):
// an image record points at its target blob; an index's label names its manifests, a manifest's
// its config and layers, a config's the snapshot of its top layer. The collector marks from image
// records and leases along these labels and sweeps what nothing reaches.
import type { Index, Manifest } from '../oci/image/index.ts';

export const gcRefContent = 'containerd.io/gc.ref.content';
export const gcRefSnapshot = 'containerd.io/gc.ref.snapshot';

export function gcLabelsForIndex(index: Index): Record<string, string> {
  const labels: Record<string, string> = {};
  index.manifests.forEach((m, i) => {
    labels[`${gcRefContent}.m.${i}`] = m.digest;
  });
  return labels;
}

export function gcLabelsForManifest(manifest: Manifest): Record<string, string> {
  const labels: Record<string, string> = { [`${gcRefContent}.config`]: manifest.config.digest };
  manifest.layers.forEach((l, i) => {
    labels[`${gcRefContent}.l.${i}`] = l.digest;
  });
  return labels;
}

/** The config names the snapshot of its image's top layer (its chain ID) in the given snapshotter. */
export function gcLabelsForConfig(
  snapshotter: string,
  topChainID: string | undefined,
): Record<string, string> {
  return topChainID === undefined ? {} : { [`${gcRefSnapshot}.${snapshotter}`]: topChainID };
}
