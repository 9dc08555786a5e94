// What the pull and push operations share: the transport, the endpoint list of a host, URL building
// under an endpoint's API root (distribution-spec "Endpoints": /v2/<name>/manifests/<reference>,
// /v2/<name>/blobs/<digest>, /v2/<name>/blobs/uploads/), and name checks that keep a repository or
// tag from smuggling path segments or query strings into a URL.

import { CanceledError, InvalidArgumentError, isBerthError } from '../errdefs/index.ts';
import { parseDigest } from '../oci/image/index.ts';
import type { Capability, Endpoint } from './hosts.ts';
import type { RetryPolicy } from './retry.ts';
import type { Transport } from './transport.ts';

export interface RegistryContext {
  transport: Transport;
  endpoints(host: string): Promise<Endpoint[]>;
  retry: RetryPolicy;
  stallTimeoutMs: number;
}

// distribution-spec "Pulling manifests": <name> and <reference> grammars.
const nameRe = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const tagRe = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export function checkRepository(repository: string): void {
  if (!nameRe.test(repository))
    throw new InvalidArgumentError(
      `repository name ${JSON.stringify(repository)} is not valid (distribution-spec <name>)`,
    );
}

/** A tag or a digest; returns whether it is a digest. */
export function checkReference(reference: string): boolean {
  if (reference.includes(':')) {
    parseDigest(reference, 'manifest digest');
    return true;
  }
  if (!tagRe.test(reference)) throw new InvalidArgumentError(`tag ${JSON.stringify(reference)} is not valid`);
  return false;
}

/** `<base>/<repository>/<rest>`, with `?ns=<host>` on a mirror (containerd docs/hosts.md). */
export function endpointUrl(endpoint: Endpoint, host: string, repository: string, rest: string): URL {
  const url = new URL(`${endpoint.base}/${repository}/${rest}`);
  if (endpoint.mirror) url.searchParams.set('ns', host);
  return url;
}

/**
 * Runs `fn` against each endpoint of `host` that has `capability`, in order, until one succeeds;
 * a failing mirror falls through to the next and finally to the server, whose error is thrown.
 * Cancellation stops at once.
 */
export async function tryEndpoints<T>(
  ctx: RegistryContext,
  host: string,
  capability: Capability,
  fn: (endpoint: Endpoint) => Promise<T>,
): Promise<T> {
  const endpoints = (await ctx.endpoints(host)).filter((e) => e.capabilities.includes(capability));
  if (endpoints.length === 0)
    throw new InvalidArgumentError(
      `no endpoint of ${host} may ${capability} (check its hosts.toml capabilities)`,
    );
  let last: unknown;
  for (const endpoint of endpoints) {
    try {
      return await fn(endpoint);
    } catch (err) {
      if (err instanceof CanceledError || !isBerthError(err)) throw err;
      last = err;
    }
  }
  throw last;
}
