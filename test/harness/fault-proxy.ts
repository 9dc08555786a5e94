// A fault-injecting HTTP proxy in front of a real test registry, for the failures a healthy
// registry never produces: 429 with Retry-After, a 500 once, a truncated or corrupted body, a CDN
// that ignores Range, a redirect of blobs to a second "storage" port, a body that stalls, and a
// `replace` answer with given bytes (documents a real registry refuses to store: Docker schema 1,
// over 4 MiB, malformed digests).
// Every request is recorded; the storage port records the headers it was sent, so tests can check
// that the registry's Authorization never reaches it.

import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export type Fault =
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  | { kind: 'truncate'; afterBytes: number }
  | { kind: 'corrupt' }
  | { kind: 'ignore-range' }
  | { kind: 'redirect' }
  | { kind: 'stall'; afterBytes: number }
  /** Answers without asking the registry: `body` (headers only to a HEAD) with Content-Length set. */
  | { kind: 'replace'; status?: number; headers: Record<string, string>; body: Uint8Array };

export interface FaultRule {
  method?: string;
  /** Matched against the request path (with query). */
  path: RegExp;
  fault: Fault;
  /** How many matching requests get the fault; then they pass. Unlimited by default. */
  times?: number;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface FaultProxy {
  /** `127.0.0.1:PORT`: use as the registry host. */
  host: string;
  rules: FaultRule[];
  requests: RecordedRequest[];
  /** Requests the storage port received (redirected blob GETs). */
  storageRequests: RecordedRequest[];
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

export async function startFaultProxy(t: Pick<TestContext, 'after'>, upstream: string): Promise<FaultProxy> {
  const up = new URL(upstream);
  const rules: FaultRule[] = [];
  const requests: RecordedRequest[] = [];
  const storageRequests: RecordedRequest[] = [];
  const stash = new Map<string, Buffer>();
  let nextId = 0;

  const forward = (req: IncomingMessage, headers: IncomingHttpHeaders): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const out = request(
        {
          host: up.hostname,
          port: up.port,
          method: req.method,
          path: req.url,
          headers: { ...headers, host: up.host },
        },
        resolve,
      );
      out.once('error', reject);
      req.pipe(out);
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const rule = rules.find(
      (r) =>
        (r.times ?? 1) > 0 &&
        (r.method === undefined || r.method === req.method) &&
        r.path.test(req.url ?? ''),
    );
    // A body fault counts only when there is a body to spoil (not on the 401 of the auth dance).
    const use = (): void => {
      if (rule?.times !== undefined) rule.times--;
    };
    let fault = rule?.fault;
    if (fault?.kind === 'status') use();
    if (fault?.kind === 'status') {
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(JSON.stringify({ errors: [{ code: 'INJECTED', message: `injected ${fault.status}` }] }));
      return;
    }
    if (fault?.kind === 'replace') {
      use();
      req.resume();
      res.writeHead(fault.status ?? 200, {
        ...fault.headers,
        'content-length': String(fault.body.byteLength),
      });
      res.end(req.method === 'HEAD' ? undefined : fault.body);
      return;
    }
    const headers = { ...req.headers };
    if (fault?.kind === 'ignore-range' || fault?.kind === 'redirect') delete headers.range;
    const upRes = await forward(req, headers);
    if (fault !== undefined) {
      if (upRes.statusCode === 200 || upRes.statusCode === 206) use();
      else fault = undefined;
    }
    const outHeaders = { ...upRes.headers };
    if (fault?.kind === 'redirect' && upRes.statusCode === 200) {
      const chunks: Buffer[] = [];
      for await (const c of upRes) chunks.push(c as Buffer);
      const id = String(nextId++);
      stash.set(id, Buffer.concat(chunks));
      res.writeHead(307, { location: `http://127.0.0.1:${storagePort}/storage/${id}` }).end();
      return;
    }
    res.writeHead(upRes.statusCode ?? 502, outHeaders);
    if (fault === undefined || req.method === 'HEAD') {
      upRes.pipe(res);
      return;
    }
    let sent = 0;
    for await (const raw of upRes) {
      let chunk = raw as Buffer;
      if (fault.kind === 'corrupt' && sent === 0) {
        chunk = Buffer.from(chunk);
        chunk[0] = (chunk[0] ?? 0) ^ 0xff;
      }
      if ((fault.kind === 'truncate' || fault.kind === 'stall') && sent + chunk.length > fault.afterBytes) {
        upRes.destroy();
        // 'truncate': close the connection once the kept bytes are flushed, short of Content-Length.
        res.write(chunk.subarray(0, fault.afterBytes - sent), () => {
          if (fault.kind === 'truncate') res.socket?.end();
        });
        // 'stall': keep the socket open and silent until the client gives up.
        return;
      }
      sent += chunk.length;
      res.write(chunk);
    }
    res.end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
  });
  const storage = createServer((req, res) => {
    storageRequests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const body = stash.get((req.url ?? '').replace('/storage/', ''));
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/octet-stream' });
    res.end(body);
  });
  const port = await listen(server);
  const storagePort = await listen(storage);
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= Promise.all(
      [server, storage].map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    ).then(() => undefined);
    return closed;
  };
  t.after(close);
  return { host: `127.0.0.1:${port}`, rules, requests, storageRequests, close };
}
