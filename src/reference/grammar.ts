// The pieces of the image reference grammar of distribution/reference (reference.go's grammar
// comment, regexp.go), kept apart so that the parser can check one part at a time and say which
// part is wrong instead of "invalid reference format":
//
//   reference        := name [ ":" tag ] [ "@" digest ]
//   name             := [ domain "/" ] path
//   domain           := host [ ":" port ]          host: DNS-like name, IPv4, or [IPv6]
//   path             := path-component [ "/" path-component ]*
//   path-component   := /[a-z0-9]+/ [ separator /[a-z0-9]+/ ]*
//   separator        := "." | "_" | "__" | one or more "-"
//   tag              := /[\w][\w.-]{0,127}/
//
// Every pattern below has a fixed separator between its repeated parts, so none of them can
// backtrack badly on long hostile input.

/** Docker Hub's canonical domain: `busybox` means `docker.io/library/busybox` (normalize.go). */
export const defaultDomain = 'docker.io';

/** The name Docker Hub had as "the Docker Index"; still accepted and rewritten to docker.io. */
export const legacyDefaultDomain = 'index.docker.io';

/** Docker Hub's namespace of official images, implied for one-component names there. */
export const officialRepoPrefix = 'library/';

/** The tag a reference gets when it names neither a tag nor a digest. */
export const defaultTag = 'latest';

/** distribution's RepositoryNameTotalLengthMax, applied to the normalised `domain/path`. */
export const maxNameLength = 255;

/** The longest tag the grammar allows: one leading word character plus up to 127 more. */
export const maxTagLength = 128;

// A label of a DNS-like name: alphanumerics, inner dashes allowed, no leading or trailing dash.
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
// IPv6 only in brackets, compressed or full; zone ids (`%eth0`) and IPv4-mapped forms are excluded
// on purpose, as in regexp.go.
const ipv6Address = '\\[[a-fA-F0-9:]+\\]';

const domainPattern = new RegExp(`^(?:${domainName}|${ipv6Address})(?::[0-9]+)?$`);
const pathComponentPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^\w[\w.-]{0,127}$/;
// A bare 64-hex string is an image ID; distribution refuses it as a name so the two never mix up.
const identifierPattern = /^[a-f0-9]{64}$/;

export function isValidDomain(domain: string): boolean {
  return domainPattern.test(domain);
}

export function isValidPathComponent(component: string): boolean {
  return pathComponentPattern.test(component);
}

export function isValidTag(tag: string): boolean {
  return tagPattern.test(tag);
}

export function isIdentifier(s: string): boolean {
  return identifierPattern.test(s);
}

/**
 * Splits a name into registry domain and repository path the way Docker does (normalize.go
 * splitDockerDomain). The first `/`-separated component is a domain only when it contains `.` or
 * `:`, is `localhost`, or has an uppercase letter (paths must be lowercase, so such a component can
 * only be a host); otherwise the whole name is a Docker Hub path, and a single-component Hub path
 * gets the `library/` namespace.
 */
export function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  let domain = defaultDomain;
  let path = name;
  if (slash >= 0) {
    const first = name.slice(0, slash);
    if (
      first === 'localhost' ||
      first.includes('.') ||
      first.includes(':') ||
      first !== first.toLowerCase()
    ) {
      domain = first === legacyDefaultDomain ? defaultDomain : first;
      path = name.slice(slash + 1);
    }
  }
  if (domain === defaultDomain && !path.includes('/')) path = officialRepoPrefix + path;
  return { domain, path };
}
