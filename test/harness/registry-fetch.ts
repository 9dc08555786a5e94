// A deliberately tiny, test-only registry reader: GET a manifest or a blob with the distribution auth
// dance (distribution-spec "Pulling", docs/spec/auth/token.md). Tests use it to check what a push
// stored independently of berth's own registry client (src/registry), which must not test itself.

import { createHash } from 'node:crypto';

export interface Creds {
  username: string;
  password: string;
}

export interface RegistryResponse {
  /** The last answer of the dance: the registry's, or the token endpoint's when it refused. */
  status: number;
  headers: Headers;
  body: Buffer;
}

/** What a pull asks for: both OCI and Docker schema2, manifests and indexes. */
export const manifestAccept = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** `Bearer realm="…",service="…",scope="…"` → scheme and parameters (values may hold commas). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/([A-Za-z_]+)="([^"]*)"/g)) {
    params[(m[1] ?? '').toLowerCase()] = m[2] ?? '';
  }
  return { scheme, params };
}

function basic(creds: Creds): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

async function read(res: Response): Promise<RegistryResponse> {
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/**
 * GET with the auth dance: try anonymously; on 401 answer a Basic challenge with the credentials, or
 * for a Bearer challenge fetch a token from the realm (Basic credentials if given, else anonymous)
 * and retry once. Never throws for HTTP statuses: tests assert on `status`.
 */
export async function registryGet(
  url: string,
  opts: { accept?: string[]; creds?: Creds } = {},
): Promise<RegistryResponse> {
  const headers: Record<string, string> = {};
  if (opts.accept !== undefined) headers.accept = opts.accept.join(', ');
  const first = await fetch(url, { headers });
  const challenge = first.headers.get('www-authenticate');
  if (first.status !== 401 || challenge === null) return read(first);
  await first.arrayBuffer(); // drain so the connection can be reused

  const { scheme, params } = parseChallenge(challenge);
  if (scheme === 'basic') {
    if (opts.creds === undefined) return read(await fetch(url, { headers }));
    return read(await fetch(url, { headers: { ...headers, authorization: basic(opts.creds) } }));
  }
  if (scheme !== 'bearer' || params.realm === undefined) {
    throw new Error(`unsupported WWW-Authenticate challenge: ${challenge}`);
  }
  const tokenUrl = new URL(params.realm);
  if (params.service !== undefined) tokenUrl.searchParams.set('service', params.service);
  if (params.scope !== undefined) tokenUrl.searchParams.set('scope', params.scope);
  const tokenHeaders: Record<string, string> =
    opts.creds === undefined ? {} : { authorization: basic(opts.creds) };
  const tokenRes = await fetch(tokenUrl, { headers: tokenHeaders });
  if (tokenRes.status !== 200) return read(tokenRes);
  const json = (await tokenRes.json()) as { token?: string; access_token?: string };
  const token = json.token ?? json.access_token;
  if (token === undefined) throw new Error(`token endpoint ${tokenUrl} answered without a token`);
  return read(await fetch(url, { headers: { ...headers, authorization: `Bearer ${token}` } }));
}

function failed(what: string, res: RegistryResponse): Error {
  return new Error(`${what}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 500)}`);
}

/** A manifest or index by tag or digest; `body` is the exact bytes, for digest checks. */
export async function fetchManifest(
  registryUrl: string,
  repo: string,
  reference: string,
  creds?: Creds,
): Promise<{ mediaType: string | null; digest: string | null; body: Buffer }> {
  const url = `${registryUrl}/v2/${repo}/manifests/${reference}`;
  const res = await registryGet(
    url,
    creds === undefined ? { accept: manifestAccept } : { accept: manifestAccept, creds },
  );
  if (res.status !== 200) throw failed(`GET ${url}`, res);
  return {
    mediaType: res.headers.get('content-type'),
    digest: res.headers.get('docker-content-digest'),
    body: res.body,
  };
}

/** A blob's bytes (fetch follows the registry's redirect, if its storage driver sends one). */
export async function fetchBlob(
  registryUrl: string,
  repo: string,
  digest: string,
  creds?: Creds,
): Promise<Buffer> {
  const url = `${registryUrl}/v2/${repo}/blobs/${digest}`;
  const res = await registryGet(url, creds === undefined ? {} : { creds });
  if (res.status !== 200) throw failed(`GET ${url}`, res);
  return res.body;
}
