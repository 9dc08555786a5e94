import { InvalidArgumentError } from '../errdefs/index.ts';
import { parseDigest } from '../oci/image/digest.ts';
import {
  defaultDomain,
  defaultTag,
  isIdentifier,
  isValidDomain,
  isValidPathComponent,
  isValidTag,
  maxNameLength,
  maxTagLength,
  officialRepoPrefix,
  splitDomain,
} from './grammar.ts';

/**
 * A normalised image reference: `docker.io/library/busybox:latest`. When both a tag and a digest
 * are given (`repo:tag@sha256:…`) both are kept: the digest decides what is fetched, the tag is
 * kept for naming, as Docker and containerd do.
 */
export interface Reference {
  /** Registry host with optional port: `docker.io`, `localhost:5000`, `[::1]:5000`. */
  domain: string;
  /** Repository path inside the registry: `library/busybox`. */
  path: string;
  tag?: string;
  digest?: string;
}

/**
 * Parses an image reference in Docker's familiar or full form and normalises it: Docker Hub is
 * made explicit (`busybox` → `docker.io/library/busybox`), `index.docker.io` becomes `docker.io`,
 * and `latest` is added when neither a tag nor a digest is given. Throws InvalidArgumentError
 * naming the reference and the part that is wrong.
 */
export function parseReference(s: string): Reference {
  const ref = parseReferenceParts(s);
  if (ref.tag === undefined && ref.digest === undefined) ref.tag = defaultTag;
  return ref;
}

/** Like parseReference, but adds no default tag: `busybox` has neither tag nor digest. */
export function parseReferenceParts(s: string): Reference {
  const bad = (why: string, cause?: unknown) =>
    new InvalidArgumentError(`reference ${JSON.stringify(s)}: ${why}`, { cause });
  if (s === '') throw bad('must not be empty');
  if (isIdentifier(s)) throw bad('a 64-digit hexadecimal string is an image ID, not a repository name');

  // The digest comes last and no other part may contain "@", so the first "@" starts it.
  let rest = s;
  let digest: string | undefined;
  const at = s.indexOf('@');
  if (at >= 0) {
    digest = s.slice(at + 1);
    rest = s.slice(0, at);
    try {
      parseDigest(digest, 'invalid digest');
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw bad(err.message, err);
      throw err;
    }
  }

  // A ":" after the last "/" starts the tag; one before it belongs to a host's port
  // (`localhost:5000/x`), and a name with no "/" at all has no host (`test.com:5000` is a tag).
  let name = rest;
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    name = rest.slice(0, colon);
    if (tag.length > maxTagLength) {
      throw bad(`invalid tag ${JSON.stringify(tag)}: longer than ${maxTagLength} characters`);
    }
    if (!isValidTag(tag)) {
      throw bad(`invalid tag ${JSON.stringify(tag)}: must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
    }
  }
  if (name === '') throw bad('missing repository name');

  const { domain, path } = splitDomain(name);
  if (!isValidDomain(domain)) {
    throw bad(
      `invalid registry host ${JSON.stringify(domain)}: must be a host name or [IPv6] with an optional :port`,
    );
  }
  if (path !== path.toLowerCase()) throw bad('repository name must be lowercase');
  for (const component of path.split('/')) {
    if (component === '') throw bad(`repository path ${JSON.stringify(path)} has an empty component`);
    if (!isValidPathComponent(component)) {
      throw bad(
        `invalid path component ${JSON.stringify(component)}: lowercase letters and digits, separated by ".", "_", "__" or dashes`,
      );
    }
  }
  const full = `${domain}/${path}`;
  if (full.length > maxNameLength) {
    throw bad(`repository name ${full.length} characters long, over the limit of ${maxNameLength}`);
  }

  const ref: Reference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** `domain/path`: the repository, as the registry API and the image store name it. */
export function repository(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full normalised form: `docker.io/library/busybox:latest[@sha256:…]`. */
export function formatReference(ref: Reference): string {
  return repository(ref) + suffix(ref);
}

/**
 * Docker's short form (normalize.go familiarizeName): `docker.io/` is dropped, and so is `library/`
 * when one component follows it (`busybox:latest`, `user/x`, `library/a/b` stays as is). Names on
 * other registries are unchanged.
 */
export function familiarName(ref: Reference): string {
  let name = repository(ref);
  if (ref.domain === defaultDomain) {
    name = ref.path;
    const rest = ref.path.slice(officialRepoPrefix.length);
    if (ref.path.startsWith(officialRepoPrefix) && !rest.includes('/')) name = rest;
  }
  return name + suffix(ref);
}

/** What to ask the registry's manifests endpoint for: the digest when there is one, else the tag. */
export function manifestTarget(ref: Reference): string {
  return ref.digest ?? ref.tag ?? defaultTag;
}

function suffix(ref: Reference): string {
  return (ref.tag === undefined ? '' : `:${ref.tag}`) + (ref.digest === undefined ? '' : `@${ref.digest}`);
}
