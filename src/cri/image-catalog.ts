// The image store as the CRI sees it. berth stores names (`docker.io/library/busybox:latest`) that
// point at an index or a manifest; the CRI's unit is the image *id*, the config digest (containerd's
// choice, cri-api api.proto `Image.id`), carrying every name that leads to it. So the catalog groups
// the stored names by the config digest of the manifest chosen for this node's platform:
//
//   name ──target──▶ index ──platform──▶ manifest ──▶ config digest = CRI image id
//
// The kubelet and crictl name an image by id, by a (possibly truncated) id, by a tagged name, or by
// `repo@sha256:<target digest>` (an entry of repo_digests); `resolve` accepts all four, as
// containerd's CRI does (critest "image status should support all kinds of references").
//
// Reading a manifest and a config costs a few file reads per name; what they say is fixed by the
// target digest (content addressing), so it is cached by that digest and dropped when no name points
// at it any more.

import { InvalidArgumentError, NotFoundError } from '../errdefs/index.ts';
import type { ImageService } from '../images/index.ts';
import type { Descriptor, ImageConfig, Platform } from '../oci/image/index.ts';
import {
  formatReference,
  parseReference,
  parseReferenceParts,
  type Reference,
  repository,
} from '../reference/index.ts';
import { idHasPrefix, imageIdPrefix, parseImageId } from './image-id.ts';

/** What the catalog reads from the image store. */
export type ImageSource = Pick<ImageService, 'list' | 'inspect'>;

/** One stored name and the descriptor (index or manifest) it points at. */
export interface CatalogName {
  name: string;
  target: Pick<Descriptor, 'digest'>;
}

/** An image as the CRI sees it: its id and every stored name that leads to it, sorted. */
export interface CatalogImage {
  /** `sha256:<config digest>` */
  id: string;
  names: CatalogName[];
  config: ImageConfig;
  /** Bytes of the config and the layers as stored (compressed). */
  size: number;
  /** The top layer's chain ID: the snapshot a container's rootfs is prepared from. */
  chainID: string;
}

/** What a target digest leads to on this platform. */
interface TargetFacts {
  id: string;
  config: ImageConfig;
  size: number;
  chainID: string;
}

/**
 * True when the stored name `n` is what `ref` names: the same full name, or, for a reference by
 * digest, a name of the same repository whose target has that digest (a repo_digests entry).
 */
export function nameMatches(n: CatalogName, ref: Reference): boolean {
  if (ref.digest === undefined) return n.name === formatReference(ref);
  return n.target.digest === ref.digest && repository(parseReference(n.name)) === repository(ref);
}

/** The reference in `s`, or undefined when `s` is not one (the caller may still read it as an id). */
function tryParse(s: string, parse: (s: string) => Reference): Reference | InvalidArgumentError {
  try {
    return parse(s);
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err;
    throw err;
  }
}

export class ImageCatalog {
  readonly #source: ImageSource;
  readonly #platform: Platform | undefined;
  readonly #facts = new Map<string, TargetFacts>();

  /** `platform`: the one this node runs (the config's images.platform); default: the host's. */
  constructor(source: ImageSource, platform?: Platform) {
    this.#source = source;
    this.#platform = platform;
  }

  /** Every image, sorted by id. */
  async list(): Promise<CatalogImage[]> {
    const byId = new Map<string, CatalogImage>();
    const live = new Set<string>();
    for (const record of this.#source.list()) {
      const facts = await this.#factsOf(record.name, record.target.digest);
      if (facts === undefined) continue;
      live.add(record.target.digest);
      const name: CatalogName = { name: record.name, target: { digest: record.target.digest } };
      const image = byId.get(facts.id);
      if (image === undefined) byId.set(facts.id, { ...facts, names: [name] });
      else image.names.push(name);
    }
    for (const digest of this.#facts.keys()) if (!live.has(digest)) this.#facts.delete(digest);
    const images = [...byId.values()].sort((a, b) => cmp(a.id, b.id));
    for (const image of images) image.names.sort((a, b) => cmp(a.name, b.name));
    return images;
  }

  /**
   * The image `ref` names: an id (`sha256:<hex>` or bare hex), a name (short forms normalised), a
   * `repo@digest`, or a unique prefix of an id; undefined when there is none. InvalidArgumentError
   * when `ref` is neither a reference nor hex, or when an id prefix matches several images.
   */
  async resolve(ref: string): Promise<CatalogImage | undefined> {
    const images = await this.list();
    const id = parseImageId(ref);
    if (id !== undefined) return images.find((i) => i.id === id);
    const parsed = tryParse(ref, parseReference);
    if (!(parsed instanceof InvalidArgumentError)) {
      const found = images.find((i) => i.names.some((n) => nameMatches(n, parsed)));
      if (found !== undefined) return found;
    }
    // A name is looked for first: `abc123` is a valid repository as well as a short id.
    const prefix = imageIdPrefix(ref);
    if (prefix === undefined) {
      if (parsed instanceof InvalidArgumentError) throw parsed;
      return undefined;
    }
    const hits = images.filter((i) => idHasPrefix(i.id, prefix));
    if (hits.length > 1) {
      throw new InvalidArgumentError(`image id prefix ${JSON.stringify(ref)} matches ${hits.length} images`, {
        hint: 'give more digits of the id',
      });
    }
    return hits[0];
  }

  /**
   * The images a ListImages filter selects (api.proto ImageFilter.image): empty selects all; a
   * repository without tag or digest selects each of its tags (`crictl images busybox`, as
   * `docker images busybox`); anything else selects what `resolve` finds.
   */
  async filter(ref: string): Promise<CatalogImage[]> {
    if (ref === '') return this.list();
    const parts = tryParse(ref, parseReferenceParts);
    if (!(parts instanceof InvalidArgumentError) && parts.tag === undefined && parts.digest === undefined) {
      const repo = repository(parts);
      const inRepo = (await this.list()).filter((i) =>
        i.names.some((n) => repository(parseReference(n.name)) === repo),
      );
      if (inRepo.length > 0) return inRepo;
    }
    const image = await this.resolve(ref);
    return image === undefined ? [] : [image];
  }

  async #factsOf(name: string, targetDigest: string): Promise<TargetFacts | undefined> {
    const cached = this.#facts.get(targetDigest);
    if (cached !== undefined) return cached;
    let d: Awaited<ReturnType<ImageSource['inspect']>>;
    try {
      d = await this.#source.inspect(name, this.#platform);
    } catch (err) {
      // Removed since list() read it, or no manifest for this platform: not an image this node
      // can run, so not one the CRI reports (containerd lists only images it can unpack).
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
    const facts = { id: d.configDescriptor.digest, config: d.config, size: d.size, chainID: d.chainID };
    this.#facts.set(targetDigest, facts);
    return facts;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
