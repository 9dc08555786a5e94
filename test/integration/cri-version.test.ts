// berthd's CRI server over its unix socket, called by real clients: crictl v1.29.0 (built from
// cri-tools by scripts/install-cri-tools; skipped when absent), connect's gRPC client, and raw
// HTTP/2 requests for what those never send (grpc-go's %-encoded socket path as :authority is sent
// by crictl too, but is pinned here without it). Issue 5.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { connect as http2Connect, type IncomingHttpHeaders } from 'node:http2';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import {
  ImageService,
  RuntimeService,
  VersionRequestSchema,
  VersionResponseSchema,
} from '../../src/cri/gen/api_pb.js';
import { berthVersion } from '../../src/util/version.ts';
import { which } from '../harness/requirements.ts';
import { tempDir } from '../harness/tmp.ts';

const berthdBin = new URL('../../bin/berthd', import.meta.url).pathname;

/** crictl: $BERTH_CRICTL, then where scripts/install-cri-tools puts it, then PATH. */
function findCrictl(): string | undefined {
  for (const path of [process.env.BERTH_CRICTL, '/work/build/bin/crictl']) {
    if (path !== undefined && path !== '' && existsSync(path)) return path;
  }
  return which('crictl');
}
const crictl = findCrictl();

interface Berthd {
  proc: ChildProcess;
  sock: string;
  exited: Promise<number | null>;
  stderr(): string;
}

async function startBerthd(t: TestContext, dir = tempDir(t, 'berthd')): Promise<Berthd> {
  const config = join(dir, 'config.toml');
  writeFileSync(config, ''); // defaults, whatever /etc/berth/config.toml says
  const sock = join(dir, 'run', 'berth.sock');
  const args = ['--config', config, '--root', join(dir, 'root'), '--state', join(dir, 'run')];
  const proc = spawn(berthdBin, [...args, '--listen', `unix://${sock}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  for (let waited = 0; !stderr.includes('serving CRI'); waited += 20) {
    if (proc.exitCode !== null || waited > 15_000) assert.fail(`berthd did not start: ${stderr}`);
    await sleep(20);
  }
  return { proc, sock, exited, stderr: () => stderr };
}

function crictlRun(sock: string, ...args: string[]) {
  const endpoint = `unix://${sock}`;
  return spawnSync(crictl!, ['--runtime-endpoint', endpoint, '--image-endpoint', endpoint, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
}

test('crictl version, imagefsinfo and ps through berthd; RPCs not built answer Unimplemented', {
  skip: crictl === undefined ? 'needs crictl v1.29 (scripts/install-cri-tools builds it)' : false,
}, async (t) => {
  const d = await startBerthd(t);
  const r = crictlRun(d.sock, 'version');
  assert.equal(r.status, 0, r.stderr);
  const fields = Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/:\s+/, 2)),
  );
  assert.deepEqual(fields, {
    Version: '0.1.0',
    RuntimeName: 'berth',
    RuntimeVersion: berthVersion(),
    RuntimeApiVersion: 'v1',
  });

  const fs = crictlRun(d.sock, 'imagefsinfo', '-o', 'json');
  assert.equal(fs.status, 0, fs.stderr);
  const info = JSON.parse(fs.stdout) as { status: { imageFilesystems: { fsId: { mountpoint: string } }[] } };
  assert.match(info.status.imageFilesystems[0]?.fsId.mountpoint ?? '', /\/root\/snapshots\/overlayfs$/);

  const ps = crictlRun(d.sock, 'ps', '-q');
  assert.equal(ps.status, 0, ps.stderr);
  assert.equal(ps.stdout, '', 'no containers yet');
  const stats = crictlRun(d.sock, 'checkpoint', '--export=/nonexistent.tar', 'x');
  assert.equal(stats.status, 1);
  assert.match(stats.stderr, /Unimplemented/);
  assert.equal(d.proc.exitCode, null, 'berthd is still running');
});

/** One gRPC call as raw HTTP/2, with the :authority a client chooses. */
function rawCall(sock: string, path: string, authority: string, body: Uint8Array) {
  return new Promise<{ status: string | undefined; message: Buffer }>((resolve, reject) => {
    const session = http2Connect('http://localhost', { createConnection: () => connect(sock) });
    session.once('error', reject);
    const req = session.request({
      ':method': 'POST',
      ':path': path,
      ':authority': authority,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const data: Buffer[] = [];
    req.on('response', (h) => {
      headers = h;
    });
    req.on('trailers', (h) => {
      trailers = h;
    });
    req.on('data', (chunk: Buffer) => data.push(chunk));
    req.once('error', reject);
    req.once('close', () => {
      session.close();
      const status = trailers['grpc-status'] ?? headers['grpc-status'];
      resolve({
        status: status === undefined ? undefined : String(status),
        message: Buffer.concat(data).subarray(5),
      });
    });
    const frame = Buffer.alloc(5 + body.length); // gRPC length prefix: flags (0), 4-byte length
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    req.end(frame);
  });
}

test('berthd: socket 0600, gRPC calls, grpc-go authority, unknown services, SIGTERM, stale socket', async (t) => {
  const dir = tempDir(t, 'berthd');
  const d = await startBerthd(t, dir);
  assert.equal(statSync(d.sock).mode & 0o777, 0o600);

  const transport = createGrpcTransport({
    baseUrl: 'http://localhost',
    nodeOptions: { createConnection: () => connect(d.sock) },
  });
  const runtime = createClient(RuntimeService, transport);
  const version = await runtime.version({ version: 'v1' });
  assert.equal(version.runtimeName, 'berth');
  assert.equal(version.runtimeApiVersion, 'v1');
  const fsInfo = await createClient(ImageService, transport).imageFsInfo({});
  assert.equal(fsInfo.imageFilesystems.length, 1);
  // CheckpointContainer stays Unimplemented (issue 5): what an RPC without a body answers
  await assert.rejects(
    runtime.checkpointContainer({ containerId: 'x' }),
    (err) => ConnectError.from(err).code === Code.Unimplemented,
  );

  // grpc-go names a unix socket by its %-encoded path; that once took the whole daemon down
  const body = toBinary(VersionRequestSchema, { $typeName: 'runtime.v1.VersionRequest', version: 'v1' });
  const encoded = encodeURIComponent(d.sock);
  const raw = await rawCall(d.sock, '/runtime.v1.RuntimeService/Version', encoded, body);
  assert.equal(raw.status, '0');
  assert.equal(fromBinary(VersionResponseSchema, raw.message).runtimeName, 'berth');
  const old = await rawCall(d.sock, '/runtime.v1alpha2.RuntimeService/Version', 'localhost', body);
  assert.equal(old.status, String(Code.Unimplemented));

  // a second daemon leaves a live socket alone
  const second = spawnSync(
    berthdBin,
    ['--config', join(dir, 'config.toml'), '--listen', `unix://${d.sock}`],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(second.status, 1);
  assert.match(second.stderr, /another server is listening/);

  d.proc.kill('SIGTERM');
  assert.equal(await d.exited, 0, d.stderr());
  assert.match(d.stderr(), /SIGTERM: shutting down/);
  assert.equal(existsSync(d.sock), false, 'the socket is removed');

  // after a SIGKILL the socket file stays behind; the next berthd replaces it
  const killed = await startBerthd(t, dir);
  killed.proc.kill('SIGKILL');
  await killed.exited;
  assert.ok(existsSync(d.sock));
  const again = await startBerthd(t, dir);
  assert.equal((await createClient(RuntimeService, transport).version({})).runtimeName, 'berth');
  again.proc.kill('SIGTERM');
  assert.equal(await again.exited, 0);
});
