// Names inside an image archive (an OCI image layout or a `docker save` tar). An archive is input
// from anywhere, so every name it holds, and every name its JSON points to, is checked here before
// anything is looked up by it: relative, no `..` component, no NUL, not empty. A symlink (skopeo's
// docker-archive writes `<id>/layer.tar -> ../<diffid>.tar`) resolves inside the archive or fails.
import { InvalidArgumentError } from '../errdefs/index.ts';

/** How many symlinks one lookup may follow (Linux's own limit for a path walk). */
const maxLinkHops = 40;

/**
 * The canonical form of an archive entry name: `./a//b/` → `a/b`. Throws InvalidArgumentError for
 * an absolute name, a `..` component, a NUL byte or an empty name, naming `what`.
 */
export function archivePath(name: string, what: string): string {
  if (name.includes('\0')) throw new InvalidArgumentError(`${what}: name contains a NUL byte`);
  if (name.startsWith('/')) {
    throw new InvalidArgumentError(
      `${what}: absolute name ${JSON.stringify(name)} points outside the archive`,
    );
  }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new InvalidArgumentError(`${what}: name ${JSON.stringify(name)} points outside the archive`);
  }
  if (parts.length === 0) throw new InvalidArgumentError(`${what}: empty name`);
  return parts.join('/');
}

/**
 * A symlink's target as an archive name: relative targets resolve against the link's directory; a
 * target that climbs above the archive's root, or is absolute, is refused.
 */
export function linkTarget(linkPath: string, target: string, what: string): string {
  if (target.startsWith('/')) {
    throw new InvalidArgumentError(`${what}: link ${linkPath} -> ${target} points outside the archive`);
  }
  const parts = linkPath.split('/').slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) {
        throw new InvalidArgumentError(`${what}: link ${linkPath} -> ${target} points outside the archive`);
      }
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  if (parts.length === 0)
    throw new InvalidArgumentError(`${what}: link ${linkPath} -> ${target} names the root`);
  return parts.join('/');
}

/**
 * Follows `links` (link name → target name, both canonical) from `path` to a name that is not a
 * link. A loop or a chain longer than the kernel allows is refused.
 */
export function resolveLinks(links: ReadonlyMap<string, string>, path: string, what: string): string {
  let current = path;
  for (let hops = 0; hops <= maxLinkHops; hops++) {
    const next = links.get(current);
    if (next === undefined) return current;
    current = next;
  }
  throw new InvalidArgumentError(`${what}: ${path}: too many levels of symbolic links`);
}

/** The blob path of a digest inside an OCI image layout (image-layout.md "blobs"). */
export function blobPathOf(digest: string): string {
  const [algorithm, encoded] = digest.split(':', 2);
  return `blobs/${algorithm}/${encoded}`;
}
