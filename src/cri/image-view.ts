// A catalog image as runtime.v1 `Image` (api.proto): pure mapping, the same for ListImages and
// ImageStatus, so that critest's "image status should support all kinds of references" finds the
// status equal whichever name it asked by.

import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ImageConfig } from '../oci/image/index.ts';
import { formatReference, parseReference, repository } from '../reference/index.ts';
import type { ImageSchema } from './gen/api_pb.js';
import type { CatalogImage } from './image-catalog.ts';
import type { PinnedImages } from './pinned-images.ts';

/** int64's largest value: a config User beyond it cannot be a uid (containerd parses with ParseInt). */
const maxInt64 = (1n << 63n) - 1n;

/**
 * api.proto `Image.uid` / `Image.username`: "UID that will run the command(s)... username is
 * mutually exclusive with uid". The user part of the config's `User` (`user[:group]`): a number
 * is the uid, anything else the username; no User gives neither (the kubelet then assumes root).
 */
export function imageUser(config: ImageConfig): { uid?: bigint; username: string } {
  const user = (config.config?.User ?? '').split(':', 1)[0] ?? '';
  if (user === '') return { username: '' };
  if (/^[0-9]+$/.test(user) && BigInt(user) <= maxInt64) return { uid: BigInt(user), username: '' };
  return { username: user };
}

/**
 * api.proto `Image.repo_tags`: the tagged names. A name stored with a digest (pulled by digest) is
 * no tag: critest "public image with digest" expects repo_tags empty for it.
 */
export function repoTags(image: CatalogImage): string[] {
  const tags: string[] = [];
  for (const n of image.names) {
    const ref = parseReference(n.name);
    if (ref.digest === undefined) tags.push(formatReference(ref));
  }
  return tags;
}

/** api.proto `Image.repo_digests`: `repo@<digest of what the name points at>`, once per repo and digest. */
export function repoDigests(image: CatalogImage): string[] {
  const out = new Set<string>();
  for (const n of image.names) out.add(`${repository(parseReference(n.name))}@${n.target.digest}`);
  return [...out];
}

export function toCriImage(image: CatalogImage, pinned: PinnedImages): MessageInitShape<typeof ImageSchema> {
  const user = imageUser(image.config);
  return {
    id: image.id,
    repoTags: repoTags(image),
    repoDigests: repoDigests(image),
    size: BigInt(image.size),
    ...(user.uid === undefined ? {} : { uid: { value: user.uid } }),
    username: user.username,
    pinned: pinned.isPinned(image),
  };
}

/**
 * ImageStatusResponse.info for a verbose request: api.proto says "info ... should include the
 * image's configuration"; key and shape as containerd's (`info` → {chainID, imageSpec}), since
 * crictl inspecti and tools written against containerd read it so.
 */
export function verboseImageInfo(image: CatalogImage): Record<string, string> {
  return { info: JSON.stringify({ chainID: image.chainID, imageSpec: image.config }) };
}
