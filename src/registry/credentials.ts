// Registry credentials: explicit ones (a CRI PullImageRequest's AuthConfig) and those of a Docker
// `config.json` (docker/cli cli/config/configfile/file.go and credentials/native_store.go):
//   {"auths": {"https://index.docker.io/v1/": {"auth": "base64(user:pass)"}, "host:5000": {…}},
//    "credHelpers": {"gcr.io": "gcloud"}, "credsStore": "desktop"}
// Helpers speak docker-credential-helpers' protocol: `docker-credential-<name> get`, the server URL
// on stdin, `{"ServerURL","Username","Secret"}` on stdout; Username "<token>" means Secret is an
// identity (refresh) token; "credentials not found" on stdout (exit 1) means none.
// Order, as docker's: credHelpers[host], then an inline `auths` entry, then credsStore.

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, isErrno, UnavailableError } from '../errdefs/index.ts';

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker's `identitytoken`), exchanged at the token realm by POST. */
  identityToken?: string;
  /** A bearer token sent as is (CRI AuthConfig.registry_token). */
  registryToken?: string;
}

/** Looks up credentials for a registry host (`docker.io`, `127.0.0.1:5000`); undefined = anonymous. */
export type CredentialProvider = (host: string, signal?: AbortSignal) => Promise<Credentials | undefined>;

/** How long a credential helper may take; a hung helper must not hang a pull. */
export const credentialHelperTimeoutMs = 30_000;

/** docker stores Docker Hub's credentials under its v1 index URL. */
const dockerHubKey = 'https://index.docker.io/v1/';

/** Credentials for exactly one host, e.g. from a CRI request; other hosts get nothing. */
export function staticCredentials(host: string, creds: Credentials): CredentialProvider {
  return async (h) => (h === host ? creds : undefined);
}

/** The first provider that has credentials for the host wins (explicit ones go first). */
export function chainCredentials(...providers: CredentialProvider[]): CredentialProvider {
  return async (host, signal) => {
    for (const p of providers) {
      const c = await p(host, signal);
      if (c !== undefined) return c;
    }
    return undefined;
  };
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** `host[:port]` of an `auths` key, which may be a bare host or a URL (`https://host/v1/`). */
function keyHost(key: string): string {
  const noScheme = key.replace(/^[a-z]+:\/\//i, '');
  const host = noScheme.split('/')[0] ?? '';
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

function fromEntry(entry: AuthEntry, path: string, key: string): Credentials | undefined {
  const creds: Credentials = {};
  if (entry.auth !== undefined && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0)
      throw new InvalidArgumentError(`${path}: auths[${JSON.stringify(key)}].auth is not user:pass`);
    creds.username = decoded.slice(0, colon);
    creds.password = decoded.slice(colon + 1);
  }
  if (entry.username) creds.username = entry.username;
  if (entry.password) creds.password = entry.password;
  if (entry.identitytoken) creds.identityToken = entry.identitytoken;
  if (entry.registrytoken) creds.registryToken = entry.registrytoken;
  return Object.keys(creds).length > 0 ? creds : undefined;
}

/** Runs `docker-credential-<helper> get` for `serverUrl` (found in PATH). */
export async function runCredentialHelper(
  helper: string,
  serverUrl: string,
  signal?: AbortSignal,
): Promise<Credentials | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(helper))
    throw new InvalidArgumentError(`credential helper name ${JSON.stringify(helper)} is not a plain name`);
  const program = `docker-credential-${helper}`;
  const timeout = AbortSignal.timeout(credentialHelperTimeoutMs);
  const child = spawn(program, ['get'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
  });
  const out: Buffer[] = [];
  const errOut: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => errOut.push(b));
  child.stdin.on('error', () => undefined); // EPIPE if the helper exits without reading: seen via exit
  child.stdin.end(serverUrl);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (err) => {
      if (isErrno(err, 'ENOENT'))
        reject(new UnavailableError(`credential helper ${program} not found in PATH`, { cause: err }));
      else
        reject(new UnavailableError(`credential helper ${program} failed: ${err.message}`, { cause: err }));
    });
    child.once('close', resolve);
  });
  const stdout = Buffer.concat(out).toString('utf8').trim();
  if (code !== 0) {
    if (/credentials not found/i.test(stdout)) return undefined;
    const stderr = Buffer.concat(errOut).toString('utf8').trim();
    throw new UnavailableError(
      `credential helper ${program} get ${serverUrl} exited ${code}: ${stdout || stderr}`,
    );
  }
  let reply: { Username?: unknown; Secret?: unknown };
  try {
    reply = JSON.parse(stdout) as typeof reply;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw new UnavailableError(`credential helper ${program} printed no JSON for ${serverUrl}`, {
      cause: err,
    });
  }
  const username = typeof reply.Username === 'string' ? reply.Username : '';
  const secret = typeof reply.Secret === 'string' ? reply.Secret : '';
  if (secret === '') return undefined;
  return username === '<token>' ? { identityToken: secret } : { username, password: secret };
}

/**
 * A provider reading the Docker config file at `path` on every lookup (so `docker login` in another
 * terminal takes effect). A missing file means no credentials; a malformed one is an error.
 */
export function dockerConfigCredentials(path: string): CredentialProvider {
  return async (host, signal) => {
    let config: DockerConfig;
    try {
      config = JSON.parse(await readFile(path, 'utf8')) as DockerConfig;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      if (err instanceof SyntaxError)
        throw new InvalidArgumentError(`${path}: not valid JSON: ${err.message}`, { cause: err });
      throw err;
    }
    const serverUrl = host === 'docker.io' ? dockerHubKey : host;
    const helper =
      config.credHelpers?.[host] ?? (host === 'docker.io' ? config.credHelpers?.[dockerHubKey] : undefined);
    if (helper !== undefined) return runCredentialHelper(helper, serverUrl, signal);
    const auths = config.auths ?? {};
    // An exact key first, then any key naming the same host (`https://host/v1/`, `http://host`).
    const exact = host === 'docker.io' ? dockerHubKey : host;
    const keys = [exact, ...Object.keys(auths).filter((k) => k !== exact && keyHost(k) === host)];
    for (const key of keys) {
      const entry = auths[key];
      if (entry === undefined) continue;
      const creds = fromEntry(entry, path, key);
      if (creds !== undefined) return creds;
    }
    if (config.credsStore) return runCredentialHelper(config.credsStore, serverUrl, signal);
    return undefined;
  };
}
