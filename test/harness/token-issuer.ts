// A minimal token server for the registry's "token" auth (distribution docs/spec/auth/token.md and
// jwt.md), run in-process by the tests. The registry (distribution 2.8, registry/auth/token/token.go)
// trusts a token when the certificate in its `x5c` header verifies against `rootcertbundle`, `iss` is
// the configured issuer, `aud` is the configured service and exp/nbf hold (with 60 s leeway). So the
// harness makes one self-signed certificate, names it as the root bundle and puts it in every token.

import { execFile } from 'node:child_process';
import { randomUUID, timingSafeEqual, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { importPKCS8, SignJWT } from 'jose';

const execFileAsync = promisify(execFile);

/** How long an issued token lives; clients may cache it, a test never runs this long. */
const tokenLifetimeSeconds = 300;

/** One `access` entry of the token claims (jwt.md "access"). */
export interface ResourceActions {
  type: string;
  name: string;
  actions: string[];
}

/** What the issuer saw and answered, so tests can assert that the token flow really happened. */
export interface TokenRequest {
  /** The authenticated user, or undefined for an anonymous request. */
  account: string | undefined;
  service: string | null;
  /** The raw `scope` query parameters, e.g. `repository:berth-test/single:pull,push`. */
  scopes: string[];
  status: 200 | 401;
  granted: ResourceActions[];
}

export interface TokenIssuerOptions {
  /** Where the signing key and certificate are written (the registry's temp dir). */
  dir: string;
  username: string;
  password: string;
  service: string;
  issuer: string;
}

export interface TokenIssuer {
  /** The `realm` for the registry config: `http://127.0.0.1:PORT/token`. */
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate for the registry's `rootcertbundle`. */
  certPath: string;
  requests: TokenRequest[];
  close(): Promise<void>;
}

/** Parses `type:name:actions`; names may contain colons (`registry:catalog:*` has none, ports do). */
function parseScope(scope: string): ResourceActions | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  const actions = scope
    .slice(last + 1)
    .split(',')
    .filter(Boolean);
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `Authorization: Basic …` → [user, password], or undefined when absent or malformed. */
function basicCredentials(req: IncomingMessage): [string, string] | undefined {
  const header = req.headers.authorization;
  if (header === undefined || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

export async function startTokenIssuer(
  t: Pick<TestContext, 'after'>,
  opts: TokenIssuerOptions,
): Promise<TokenIssuer> {
  const keyPath = join(opts.dir, 'token-signing.key');
  const certPath = join(opts.dir, 'token-signing.crt');
  // P-256 key and self-signed certificate in one openssl call; OpenSSL 3 writes the key as PKCS#8.
  // biome-ignore format: argv reads best as option/value pairs
  const argv = [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=berth-test-token-issuer',
  ];
  await execFileAsync('openssl', argv);
  const key = await importPKCS8(await readFile(keyPath, 'utf8'), 'ES256');
  // x5c holds base64 (not base64url) DER, leaf first (RFC 7515 section 4.1.6).
  const x5c = [new X509Certificate(await readFile(certPath)).raw.toString('base64')];
  const requests: TokenRequest[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ').filter(Boolean));
    const service = url.searchParams.get('service');
    const creds = basicCredentials(req);
    let account: string | undefined;
    if (creds !== undefined) {
      if (creds[0] !== opts.username || !sameSecret(creds[1], opts.password)) {
        requests.push({ account: creds[0], service, scopes, status: 401, granted: [] });
        res.writeHead(401, { 'www-authenticate': 'Basic realm="berth-test-token"' }).end();
        return;
      }
      account = creds[0];
    }
    // The test user gets exactly what it asked for; anonymous callers get a valid token granting
    // nothing, which the registry then answers with 401 (what Docker Hub does for private repos).
    const granted =
      account === undefined
        ? []
        : scopes
            .map(parseScope)
            .filter((s): s is ResourceActions => s !== undefined && s.type === 'repository');
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ access: granted })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', x5c })
      .setIssuer(opts.issuer)
      .setAudience(service ?? opts.service)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + tokenLifetimeSeconds)
      .setJti(randomUUID());
    if (account !== undefined) jwt.setSubject(account);
    const token = await jwt.sign(key);
    requests.push({ account, service, scopes, status: 200, granted });
    const body = {
      token,
      access_token: token,
      expires_in: tokenLifetimeSeconds,
      issued_at: new Date(now * 1000).toISOString(),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
    return closed;
  };
  t.after(close);
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service: opts.service,
    issuer: opts.issuer,
    certPath,
    requests,
    close,
  };
}
