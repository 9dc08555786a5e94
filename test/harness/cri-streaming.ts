// berthd's pieces in this process for the streaming tests: the runtime services on temp dirs with a
// test CNI network (test/harness/pods.ts), the stream server, and the CRI gRPC server exactly as
// berthd starts it (src/cri/server.ts), on a temp socket; a pod, and `run` to start a container in
// it from the test image. Afterwards every container and pod is removed through the API while the
// servers run, then the servers, the network and the temp dirs go.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { loadConfig } from '../../src/config/index.ts';
import { RuntimeService } from '../../src/cri/gen/api_pb.js';
import { startCriServer } from '../../src/cri/server.ts';
import { startStreamServer } from '../../src/cri/streaming/index.ts';
import { imageRpcDeps } from '../../src/daemon/image-rpc-deps.ts';
import { openRuntimeServices } from '../../src/daemon/runtime-services.ts';
import { runtimeStatusDeps } from '../../src/daemon/runtime-status-deps.ts';
import { buildRunImage } from './berth-containers.ts';
import { podTestEnv } from './pods.ts';
import { tempDir } from './tmp.ts';

const berth = new URL('../../bin/berth', import.meta.url).pathname;

export async function streamingTestEnv(t: TestContext, name: string) {
  const serverLog: string[] = [];
  const undo: (() => Promise<unknown> | unknown)[] = [];
  // Registered first: after-hooks run in registration order; pods and containers go (through the
  // API, while the server runs) before the network and the temp dirs do.
  t.after(async () => {
    for (const fn of undo.reverse()) {
      await Promise.resolve()
        .then(fn)
        .catch((err: unknown) => process.stderr.write(`cleanup: ${String(err)}\n`));
    }
    if (process.env.BERTH_TEST_DEBUG === '1')
      process.stderr.write(`stream server log:\n${serverLog.join('\n')}\n`);
  });
  const net = podTestEnv(t);
  const dir = tempDir(t, name);
  const root = join(dir, 'root');
  const state = join(dir, 'state');
  const sock = join(dir, 'berth.sock');
  const configPath = join(dir, 'config.toml');
  writeFileSync(
    configPath,
    `[cri]\ncni_conf_dir = ${JSON.stringify(net.confDir)}\ncni_bin_dirs = ${JSON.stringify(net.binDirs)}\n`,
  );
  const layout = await buildRunImage(join(dir, 'image'));
  const imported = spawnSync(
    berth,
    ['--config', configPath, '--root', root, '--state', state, 'image', 'import', layout],
    { encoding: 'utf8' },
  );
  assert.equal(imported.status, 0, imported.stderr);
  const image = /Imported image: (\S+)/.exec(imported.stdout + imported.stderr)?.[1];
  assert.ok(image !== undefined, imported.stdout);

  const config = loadConfig({ path: configPath, root, state });
  const services = await openRuntimeServices(config, configPath);
  undo.push(() => services[Symbol.asyncDispose]());
  const rt = services.runtime;
  const streaming = await startStreamServer({
    address: config.cri.stream_address,
    port: config.cri.stream_port,
    containers: rt.containers,
    pods: rt.pods,
    log: (line) => serverLog.push(line),
  });
  undo.push(() => streaming.close());
  const grpc = await startCriServer(sock, {
    runtimeVersion: 'test',
    images: imageRpcDeps(config, services.services, (line) => serverLog.push(line)),
    runtimeStatus: runtimeStatusDeps(config),
    runtime: rt,
    streaming,
  });
  undo.push(() => grpc.close());
  const client = createClient(
    RuntimeService,
    createGrpcTransport({ baseUrl: 'http://localhost', nodeOptions: { path: sock } }),
  );
  undo.push(async () => {
    for (const c of (await client.listContainers({})).containers)
      await client.removeContainer({ containerId: c.id });
    for (const p of (await client.listPodSandbox({})).items)
      await client.removePodSandbox({ podSandboxId: p.id });
  });

  const podConfig = {
    metadata: { name, namespace: 'berth-test', uid: `uid-${name}-${process.pid}`, attempt: 0 },
    hostname: name,
    logDirectory: join(dir, 'pod-logs'),
  };
  const { podSandboxId } = await client.runPodSandbox({ config: podConfig });
  const run = async (
    ctr: string,
    script: string,
    extra: { stdin?: boolean; stdinOnce?: boolean; tty?: boolean } = {},
  ) => {
    const { containerId } = await client.createContainer({
      podSandboxId,
      config: {
        metadata: { name: ctr, attempt: 0 },
        image: { image },
        command: ['sh', '-c', script],
        logPath: `${ctr}.log`,
        ...extra,
      },
      sandboxConfig: podConfig,
    });
    await client.startContainer({ containerId });
    return containerId;
  };
  return { sock, client, podSandboxId, run, streaming, serverLog };
}
