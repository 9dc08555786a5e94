// A real registry for tests: Debian's docker-registry (CNCF distribution 2.8) on a free loopback port,
// with its own config, storage and log in a berth-test-* temp dir, killed and reaped when the test ends.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import bcrypt from 'bcryptjs';
import { tempDir } from './tmp.ts';
import { startTokenIssuer, type TokenIssuer } from './token-issuer.ts';

export type RegistryAuth = 'none' | 'basic' | 'token';

export interface TestRegistry {
  /** `127.0.0.1:PORT`, as it appears in image references. */
  host: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  auth: RegistryAuth;
  /** Set for the basic and token variants. */
  username?: string;
  password?: string;
  /** Set for the token variant: the in-process issuer, whose `requests` tests can assert on. */
  tokenIssuer?: TokenIssuer;
  /** The registry's stdout+stderr, for debugging a failing test. */
  logPath: string;
  /** Kills and reaps the registry (idempotent; also runs by itself when the test ends). */
  stop(): Promise<void>;
}

/** A cold start takes ~100 ms; the deadline only matters when something is broken. */
const startDeadlineMs = 10_000;
/** How long SIGTERM gets before SIGKILL. */
const stopGraceMs = 2_000;
/** Attempts when another process takes the free port between our probe and the registry's bind. */
const portAttempts = 5;

const testUser = 'berth-test';
const tokenService = 'berth-test-registry';
const tokenIssuerName = 'berth-test-token-issuer';

/** Asks the kernel for a free loopback port. It is free again once closed; the caller races for it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address for port probe');
  return address.port;
}

function logTail(logPath: string): string {
  return readFileSync(logPath, 'utf8').slice(-3000);
}

/** A JSON string is a valid YAML double-quoted scalar, so paths and secrets need no YAML escaping. */
const q = JSON.stringify;

function configYaml(dir: string, port: number, instanceId: string, authYaml: string): string {
  // No `http.debug`: that would open a second (debug/metrics) listener. Upload purging and the
  // storage health check are timers that only add noise to a registry living a few seconds.
  return `version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: ${q(join(dir, 'storage'))}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: ${q(`127.0.0.1:${port}`)}
  secret: ${q(randomBytes(16).toString('hex'))}
  headers:
    X-Berth-Test-Registry: [${q(instanceId)}]
health:
  storagedriver:
    enabled: false
${authYaml}`;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all (e.g. ENOENT). */
  error?: Error;
}

/** Resolves once GET /v2/ is answered by *this* registry (checked by its header), or throws. */
async function waitReady(url: string, instanceId: string, exited: Promise<Exit>): Promise<void> {
  const deadline = Date.now() + startDeadlineMs;
  let exit: Exit | undefined;
  exited.then((e) => {
    exit = e;
  });
  while (Date.now() < deadline) {
    if (exit?.error !== undefined) throw exit.error;
    if (exit !== undefined)
      throw new Error(`registry exited early (code ${exit.code}, signal ${exit.signal})`);
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      // Another process may have won the race for the port: only our instance sends our id.
      const ours = res.headers.get('x-berth-test-registry') === instanceId;
      if (ours && (res.status === 200 || res.status === 401)) return;
      if (!ours) throw new Error(`port taken by another server (GET /v2/ answered ${res.status})`);
    } catch (err) {
      // Not listening yet: fetch fails with cause ECONNREFUSED. Anything else is a real error.
      const code = (err as { cause?: { code?: string } }).cause?.code;
      if (!(err instanceof TypeError && (code === 'ECONNREFUSED' || code === 'ECONNRESET'))) throw err;
    }
    await sleep(10);
  }
  throw new Error(`registry did not answer GET /v2/ within ${startDeadlineMs} ms`);
}

export async function startRegistry(
  t: Pick<TestContext, 'after'>,
  opts: { auth: RegistryAuth },
): Promise<TestRegistry> {
  let child: ChildProcess | undefined;
  let exited: Promise<Exit> | undefined;
  let issuer: TokenIssuer | undefined;
  let stopped: Promise<void> | undefined;
  const killChild = async (): Promise<void> => {
    // No pid: spawn itself failed (ENOENT), there is nothing to kill or reap.
    if (child?.pid === undefined || exited === undefined) return;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    // Unref'd: a pending grace timer must not keep the test process alive after a quick exit.
    const grace = sleep(stopGraceMs, undefined, { ref: false });
    const graceful = await Promise.race([exited, grace]);
    if (graceful === undefined) {
      child.kill('SIGKILL');
      await exited; // 'exit' fires after waitpid: the child is reaped
    }
  };
  const stop = (): Promise<void> => {
    stopped ??= killChild().then(() => issuer?.close());
    return stopped;
  };
  // Registered before tempDir so that it runs first (node:test runs after-hooks in order): the
  // registry must be dead before its storage directory is removed.
  t.after(stop);
  const dir = tempDir(t, 'registry');
  const logPath = join(dir, 'registry.log');
  const configPath = join(dir, 'config.yml');
  const password = opts.auth === 'none' ? undefined : randomBytes(12).toString('hex');

  let authYaml = '';
  if (opts.auth === 'basic' && password !== undefined) {
    const htpasswd = join(dir, 'htpasswd');
    // Cost 4 (bcrypt's minimum): the registry checks the hash on every request, so a high cost
    // would slow each push down for no benefit in a test.
    writeFileSync(htpasswd, `${testUser}:${bcrypt.hashSync(password, 4)}\n`);
    authYaml = `auth:\n  htpasswd:\n    realm: "berth-test"\n    path: ${q(htpasswd)}\n`;
  } else if (opts.auth === 'token' && password !== undefined) {
    const service = tokenService;
    issuer = await startTokenIssuer(t, {
      dir,
      username: testUser,
      password,
      service,
      issuer: tokenIssuerName,
    });
    authYaml = `auth:
  token:
    realm: ${q(issuer.realm)}
    service: ${q(service)}
    issuer: ${q(tokenIssuerName)}
    rootcertbundle: ${q(issuer.certPath)}
`;
  }

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const instanceId = randomBytes(8).toString('hex');
    writeFileSync(configPath, configYaml(dir, port, instanceId, authYaml));
    writeFileSync(logPath, '');
    const logFd = openSync(logPath, 'a');
    // A clean environment: distribution maps REGISTRY_* variables onto config keys, so an inherited
    // REGISTRY_HTTP_ADDR (or skopeo's REGISTRY_AUTH_FILE) would silently change this registry.
    const proc = spawn('docker-registry', ['serve', configPath], {
      stdio: ['ignore', logFd, logFd],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    closeSync(logFd);
    child = proc;
    exited = new Promise<Exit>((resolve) => {
      proc.once('exit', (code, signal) => resolve({ code, signal }));
      // A failed spawn emits 'error' without 'exit'; waitReady sees it as an early exit.
      proc.once('error', (error) => resolve({ code: null, signal: null, error }));
    });
    try {
      await waitReady(url, instanceId, exited);
      const registry: TestRegistry = { host: `127.0.0.1:${port}`, url, auth: opts.auth, logPath, stop };
      if (password !== undefined) {
        registry.username = testUser;
        registry.password = password;
      }
      if (issuer !== undefined) registry.tokenIssuer = issuer;
      return registry;
    } catch (err) {
      await killChild();
      const log = logTail(logPath);
      if (attempt < portAttempts && /address already in use|port taken by another/.test(`${log} ${err}`)) {
        continue;
      }
      const message = `docker-registry (${opts.auth}) failed to start: ${err}\n--- registry.log (tail) ---\n${log}`;
      throw new Error(message, { cause: err });
    }
  }
}
