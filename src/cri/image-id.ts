// CRI image ids. The kubelet names an image by the id ImageStatus/PullImage reported: containerd's
// choice, the config digest `sha256:<64 hex>` (Docker's image id). crictl shows ids truncated
// (`crictl images` prints 13 hex digits) and users paste them back, so a prefix is accepted too.

/** A full image id, with or without the `sha256:` algorithm. */
const fullId = /^(?:sha256:)?([0-9a-f]{64})$/;
/** What may be a (possibly truncated) id: hex digits, optionally after `sha256:`. */
const idPrefix = /^(?:sha256:)?([0-9a-f]{1,64})$/;

/** `sha256:<hex>` for a full id written either way, else undefined. */
export function parseImageId(s: string): string | undefined {
  const m = fullId.exec(s);
  return m === null ? undefined : `sha256:${m[1]}`;
}

/** The hex digits of a string that could be a truncated id, else undefined. */
export function imageIdPrefix(s: string): string | undefined {
  return idPrefix.exec(s)?.[1];
}

/** True when `id` (`sha256:<hex>`) starts with the hex digits `prefix`. */
export function idHasPrefix(id: string, prefix: string): boolean {
  return id.startsWith(`sha256:${prefix}`);
}
