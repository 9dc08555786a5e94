// Pinned images (config cri.pinned_images): api.proto `Image.pinned` "signifies whether the image
// will be pinned or not ... the kubelet's image garbage collector never removes a pinned image"
// (containerd pins its sandbox image this way). Entries are references or image ids, checked when
// berthd starts so that a typo is reported then rather than silently pinning nothing.

import { InvalidArgumentError } from '../errdefs/index.ts';
import { parseReference, type Reference } from '../reference/index.ts';
import { type CatalogImage, nameMatches } from './image-catalog.ts';
import { parseImageId } from './image-id.ts';

export class PinnedImages {
  readonly #ids = new Set<string>();
  readonly #refs: Reference[] = [];

  /** `key` names the config key in error messages. */
  constructor(entries: readonly string[], key = 'cri.pinned_images') {
    entries.forEach((entry, i) => {
      const id = parseImageId(entry);
      if (id !== undefined) {
        this.#ids.add(id);
        return;
      }
      try {
        this.#refs.push(parseReference(entry));
      } catch (err) {
        if (!(err instanceof InvalidArgumentError)) throw err;
        throw new InvalidArgumentError(`${key}[${i}]: ${err.message}`, {
          cause: err,
          hint: 'pin an image by reference (registry.k8s.io/pause:3.9) or by id (sha256:<64 hex>)',
        });
      }
    });
  }

  isPinned(image: CatalogImage): boolean {
    if (this.#ids.has(image.id)) return true;
    return image.names.some((n) => this.#refs.some((ref) => nameMatches(n, ref)));
  }
}
