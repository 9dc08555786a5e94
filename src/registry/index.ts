// The public face of src/registry: the client side of the OCI distribution-spec.
export { Authorizer, defaultTokenLifetimeSeconds, repositoryScope } from './auth.ts';
export { defaultStallTimeoutMs, RegistryClient, type RegistryClientOptions } from './client.ts';
export {
  type CredentialProvider,
  type Credentials,
  chainCredentials,
  credentialHelperTimeoutMs,
  dockerConfigCredentials,
  runCredentialHelper,
  staticCredentials,
} from './credentials.ts';
export { parseErrorBody, type RegistryErrorBody, statusError } from './errors.ts';
export type { FetchBlobOptions } from './fetch-blob.ts';
export {
  type Capability,
  defaultEndpoints,
  defaultServer,
  type Endpoint,
  isLoopbackHost,
  loadEndpoints,
  parseHostsToml,
} from './hosts.ts';
export type { BlobSource, PushBlobOptions, PushBlobResult } from './push.ts';
export { defaultManifestAccept, maxManifestBytes, type ResolveOptions } from './resolve.ts';
export { backoffDelay, defaultRetryPolicy, parseRetryAfter, type RetryPolicy } from './retry.ts';
export { type Challenge, challengesOf, parseWwwAuthenticate } from './www-authenticate.ts';
