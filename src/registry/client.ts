// The registry client: berth's side of the OCI distribution-spec 1.1 (plus Docker schema2 media
// types). Its API takes plain strings (registry host namespace such as `docker.io` or
// `127.0.0.1:5000`, repository, tag or digest) and returns plain data (Descriptor) and byte streams;
// parsing references is the caller's business (src/reference). Endpoints (mirrors, TLS, plain HTTP)
// come from hosts.ts, credentials from a CredentialProvider (credentials.ts); every call takes an
// AbortSignal. One client holds one connection pool per TLS setting: create it once, close() it last.

import type { Readable } from 'node:stream';
import type { Descriptor, Digest } from '../oci/image/index.ts';
import { berthVersion } from '../util/version.ts';
import { Authorizer } from './auth.ts';
import type { RegistryContext } from './context.ts';
import type { CredentialProvider } from './credentials.ts';
import { type FetchBlobOptions, fetchBlob } from './fetch-blob.ts';
import { type Endpoint, loadEndpoints } from './hosts.ts';
import {
  type BlobSource,
  type PushBlobOptions,
  type PushBlobResult,
  pushBlob,
  pushManifest,
} from './push.ts';
import { fetchManifest, type ResolveOptions, resolve } from './resolve.ts';
import { defaultRetryPolicy, type RetryPolicy } from './retry.ts';
import { Transport } from './transport.ts';

/** No byte (or no response header) for this long aborts a transfer; a named default (rule 7). */
export const defaultStallTimeoutMs = 60_000;

export interface RegistryClientOptions {
  /** Directory of `<host>/hosts.toml` files (config `registry.config_path`); none = defaults only. */
  hostsDir?: string;
  /** Replaces the hosts.toml lookup entirely (tests, or a caller with its own endpoint table). */
  endpoints?: (host: string) => Promise<Endpoint[]>;
  credentials?: CredentialProvider;
  retry?: Partial<RetryPolicy>;
  stallTimeoutMs?: number;
  userAgent?: string;
}

export class RegistryClient {
  readonly #ctx: RegistryContext;

  constructor(opts: RegistryClientOptions = {}) {
    const stallTimeoutMs = opts.stallTimeoutMs ?? defaultStallTimeoutMs;
    const retry = { ...defaultRetryPolicy, ...opts.retry };
    let transport: Transport | undefined;
    const auth = new Authorizer(opts.credentials, (url) => (transport as Transport).dispatcher(url));
    transport = new Transport(auth, {
      retry,
      stallTimeoutMs,
      userAgent: opts.userAgent ?? `berth/${berthVersion()}`,
    });
    const endpoints = opts.endpoints ?? ((host: string) => loadEndpoints(opts.hostsDir, host));
    this.#ctx = { transport, endpoints, retry, stallTimeoutMs };
  }

  /** The descriptor (media type, digest, size) a tag or digest names in `repository`. */
  resolve(host: string, repository: string, reference: string, opts?: ResolveOptions): Promise<Descriptor> {
    return resolve(this.#ctx, host, repository, reference, opts);
  }

  /** The bytes of a manifest or index, verified against `digest`, refused over 4 MiB. */
  fetchManifest(host: string, repository: string, digest: Digest, opts?: ResolveOptions): Promise<Buffer> {
    return fetchManifest(this.#ctx, host, repository, digest, opts);
  }

  /** A stream of the blob's bytes from `opts.offset` on (see fetch-blob.ts for what is handled). */
  fetchBlob(host: string, repository: string, desc: Descriptor, opts?: FetchBlobOptions): Promise<Readable> {
    return fetchBlob(this.#ctx, host, repository, desc, opts);
  }

  /** Uploads a blob unless the repository has it (or can mount it from `opts.mountFrom`). */
  pushBlob(
    host: string,
    repository: string,
    desc: Descriptor,
    source: BlobSource,
    opts?: PushBlobOptions,
  ): Promise<PushBlobResult> {
    return pushBlob(this.#ctx, host, repository, desc, source, opts);
  }

  /** Stores a manifest or index under a tag (or its digest); returns its descriptor. */
  pushManifest(
    host: string,
    repository: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
    opts?: { signal?: AbortSignal },
  ): Promise<Descriptor> {
    return pushManifest(this.#ctx, host, repository, reference, bytes, mediaType, opts);
  }

  /** Closes every pooled connection. */
  close(): Promise<void> {
    return this.#ctx.transport.close();
  }
}
