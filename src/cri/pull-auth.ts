// PullImageRequest.auth (api.proto AuthConfig, Docker's AuthConfig fields) → explicit credentials for
// one registry host, used for that pull only. The kubelet fills it from the pod's imagePullSecrets or
// a credential provider; crictl from --creds (username/password) or --auth (base64 "user:pass").
//   - username/password win over `auth`, as in containerd's ParseAuth;
//   - identity_token is an OAuth2 refresh token, registry_token a bearer token sent as is;
//   - server_address names the host the credentials are for (Docker Hub's is its v1 index URL);
//     without it they are for the image's own registry.

import { InvalidArgumentError } from '../errdefs/index.ts';
import type { Credentials } from '../registry/index.ts';
import type { AuthConfig } from './gen/api_pb.js';

export interface PullCredentials {
  /** `host[:port]` the credentials are sent to, as image references name registries. */
  host: string;
  credentials: Credentials;
}

/** docker.io's other names, which Docker keys its credentials by. */
const dockerHubAliases = new Set(['index.docker.io', 'registry-1.docker.io']);

/** `https://index.docker.io/v1/` → `docker.io`; `127.0.0.1:5000` stays as is. */
export function serverHost(serverAddress: string): string {
  const host = serverAddress.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0] ?? '';
  return dockerHubAliases.has(host) ? 'docker.io' : host;
}

/** The credentials of `auth` for a pull from `imageHost`; undefined when it carries none. */
export function pullCredentials(
  auth: AuthConfig | undefined,
  imageHost: string,
): PullCredentials | undefined {
  if (auth === undefined) return undefined;
  const credentials: Credentials = {};
  if (auth.username !== '') {
    credentials.username = auth.username;
    credentials.password = auth.password;
  } else if (auth.auth !== '') {
    const decoded = Buffer.from(auth.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new InvalidArgumentError('auth.auth: not the base64 of "username:password"');
    credentials.username = decoded.slice(0, colon);
    credentials.password = decoded.slice(colon + 1);
  }
  if (auth.identityToken !== '') credentials.identityToken = auth.identityToken;
  if (auth.registryToken !== '') credentials.registryToken = auth.registryToken;
  if (Object.keys(credentials).length === 0) return undefined;
  const host = auth.serverAddress === '' ? imageHost : serverHost(auth.serverAddress);
  if (host === '')
    throw new InvalidArgumentError(`auth.server_address ${JSON.stringify(auth.serverAddress)}: no host`);
  return { host, credentials };
}
