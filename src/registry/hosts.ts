// Which URLs to try for a registry host, read from containerd's `certs.d/<host>/hosts.toml`
// (containerd docs/hosts.md): `[host."…"]` mirrors first, in file order, then `server` (default: the
// host itself). Each endpoint carries its capabilities (pull, resolve, push), TLS settings
// (skip_verify, ca, client) and extra headers. A mirror gets `?ns=<host>` on its requests.
//
// Plain HTTP: only when written explicitly (`http://` in hosts.toml) or, with no hosts.toml, for a
// loopback host (127.0.0.0/8, ::1, localhost). containerd tries https and then http for localhost;
// berth goes straight to http there because traffic that never leaves the machine gains nothing
// from TLS, and a failed handshake on every new connection costs time and turns a real TLS problem
// into a confusing fallback. A TLS registry on loopback is declared with `server = "https://…"`.

import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { InvalidArgumentError, isErrno } from '../errdefs/index.ts';

export type Capability = 'pull' | 'resolve' | 'push';
const allCapabilities: readonly Capability[] = ['pull', 'resolve', 'push'];

export interface Endpoint {
  /** The API root without trailing slash: `https://registry-1.docker.io/v2`. */
  base: string;
  /** `host[:port]` of `base`: whose credentials and TLS settings apply. */
  host: string;
  capabilities: Capability[];
  /** A `[host."…"]` entry rather than the namespace's own server: requests carry `?ns=`. */
  mirror: boolean;
  skipVerify: boolean;
  /** Absolute paths of CA certificates (PEM) trusted for this endpoint, besides the system's. */
  ca: string[];
  /** Absolute paths of client certificate and key (PEM); key '' means "inside the cert file". */
  client: [string, string][];
  /** Extra request headers from `header` tables. */
  headers: Record<string, string[]>;
}

/** docker.io is an alias: its API lives at registry-1.docker.io (what docker and containerd use). */
export function defaultServer(host: string): string {
  if (host === 'docker.io') return 'https://registry-1.docker.io';
  return `${isLoopbackHost(host) ? 'http' : 'https'}://${host}`;
}

/** `localhost`, `127.x.x.x` or `::1`, with or without a port (`[::1]:5000`). */
export function isLoopbackHost(host: string): boolean {
  let name = host;
  if (name.startsWith('[')) name = name.slice(1, name.indexOf(']'));
  else if (name.split(':').length === 2) name = name.slice(0, name.indexOf(':'));
  name = name.toLowerCase();
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** The endpoint used when no hosts.toml applies. */
export function defaultEndpoints(host: string): Endpoint[] {
  return [endpointFor(defaultServer(host), {}, '', false)];
}

function fail(file: string, what: string): never {
  throw new InvalidArgumentError(`${file}: ${what}`);
}

function strings(value: unknown, file: string, key: string): string[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  return fail(file, `${key} must be a string or an array of strings`);
}

function endpointFor(url: string, table: Record<string, unknown>, file: string, mirror: boolean): Endpoint {
  const dir = file === '' ? '/' : file.slice(0, file.lastIndexOf('/') + 1);
  const abs = (p: string): string => (isAbsolute(p) ? p : join(dir, p));
  let parsed: URL;
  try {
    parsed = new URL(/^[a-z]+:\/\//i.test(url) ? url : `https://${url}`);
  } catch (err) {
    if (err instanceof TypeError) return fail(file, `${JSON.stringify(url)} is not a URL`);
    throw err;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    fail(file, `${JSON.stringify(url)}: only http and https are supported`);
  const caps = strings(table.capabilities, file, 'capabilities');
  for (const c of caps) {
    if (!allCapabilities.includes(c as Capability)) fail(file, `unknown capability ${JSON.stringify(c)}`);
  }
  const skip = table.skip_verify ?? false;
  const override = table.override_path ?? false;
  if (typeof skip !== 'boolean') fail(file, 'skip_verify must be true or false');
  if (typeof override !== 'boolean') fail(file, 'override_path must be true or false');
  // override_path: the URL path is the API root itself (non-compliant mirrors without /v2).
  let path = parsed.pathname.replace(/\/+$/, '');
  if (!override && !path.endsWith('/v2')) path += '/v2';
  const client: [string, string][] = [];
  const rawClient = table.client;
  if (Array.isArray(rawClient) && rawClient.some(Array.isArray)) {
    for (const pair of rawClient) {
      const [cert, key] = strings(pair, file, 'client');
      if (cert === undefined) fail(file, 'client pairs need a certificate path');
      client.push([abs(cert), key ? abs(key) : '']);
    }
  } else {
    for (const cert of strings(rawClient, file, 'client')) client.push([abs(cert), '']);
  }
  const headers: Record<string, string[]> = {};
  const rawHeaders = table.header ?? {};
  if (typeof rawHeaders !== 'object' || rawHeaders === null || Array.isArray(rawHeaders))
    fail(file, 'header must be a table');
  for (const [name, v] of Object.entries(rawHeaders)) headers[name.toLowerCase()] = strings(v, file, name);
  return {
    base: `${parsed.protocol}//${parsed.host}${path}`,
    host: parsed.host,
    capabilities: caps.length > 0 ? (caps as Capability[]) : [...allCapabilities],
    mirror,
    skipVerify: skip,
    ca: strings(table.ca, file, 'ca').map(abs),
    client,
    headers,
  };
}

/** Parses one hosts.toml for namespace `host`. Pure; `file` is used for messages and relative paths. */
export function parseHostsToml(text: string, host: string, file: string): Endpoint[] {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) return fail(file, `not valid TOML: ${err.message}`);
    throw err;
  }
  const out: Endpoint[] = [];
  const hostsTable = doc.host ?? {};
  if (typeof hostsTable !== 'object' || hostsTable === null) fail(file, '[host] must be a table');
  for (const [url, table] of Object.entries(hostsTable)) {
    if (typeof table !== 'object' || table === null || Array.isArray(table))
      fail(file, `[host.${JSON.stringify(url)}] must be a table`);
    out.push(endpointFor(url, table as Record<string, unknown>, file, true));
  }
  const server = doc.server;
  if (server !== undefined && typeof server !== 'string') fail(file, 'server must be a string');
  out.push(endpointFor(server ?? defaultServer(host), doc, file, false));
  return out;
}

/** Directory names tried for `host`, in containerd's order (docs/hosts.md "Port Handling"). */
function candidateDirs(host: string): string[] {
  const dirs: string[] = [];
  const colon = host.lastIndexOf(':');
  if (colon > 0 && !host.endsWith(']')) dirs.push(`${host.slice(0, colon)}_${host.slice(colon + 1)}_`);
  dirs.push(host, '_default');
  return dirs;
}

/**
 * The endpoints to try for `host`, in order, from `configDir` (e.g. /etc/berth/certs.d). Without a
 * hosts.toml but with Docker-style `*.crt` files in the host's directory, those CAs are trusted
 * (containerd falls back to Docker's certs.d pattern the same way).
 */
export async function loadEndpoints(configDir: string | undefined, host: string): Promise<Endpoint[]> {
  // The host becomes a directory name: refuse anything that could walk out of configDir.
  if (host === '' || /[/\\]/.test(host) || host === '.' || host === '..')
    throw new InvalidArgumentError(`registry host ${JSON.stringify(host)} is not a host name`);
  if (configDir === undefined) return defaultEndpoints(host);
  for (const name of candidateDirs(host)) {
    const file = join(configDir, name, 'hosts.toml');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) continue;
      throw err;
    }
    return parseHostsToml(text, host, file);
  }
  const endpoints = defaultEndpoints(host);
  try {
    const dir = join(configDir, host);
    const crts = (await readdir(dir)).filter((f) => f.endsWith('.crt')).sort();
    for (const e of endpoints) e.ca = crts.map((f) => join(dir, f));
  } catch (err) {
    if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOTDIR')) throw err;
  }
  return endpoints;
}
