// berthd's main loop: read the command line and the config, serve the CRI on its socket until
// SIGTERM or SIGINT, then close the server (calls in flight get SHUTDOWN_GRACE_MS to finish).
// Containers are never stopped by a shutdown: they belong to their shims (issue 5).

import { parseArgs } from 'node:util';
import { type Config, loadConfig } from '../config/index.ts';
import { isBerthError } from '../errdefs/index.ts';
import { berthVersion, versionLine } from '../util/version.ts';

const usage = `Usage: berthd [options]

Serves the Kubernetes CRI (runtime.v1) over gRPC on a unix socket.

Options:
  --listen ADDRESS   unix:///path of the socket (default: cri.listen of the config, /run/berth/berth.sock)
  --config PATH      config file (default /etc/berth/config.toml; defaults apply when it is absent)
  --root DIR         persistent data directory (default: the config's root, /var/lib/berth)
  --state DIR        runtime state directory (default: the config's state, /run/berth)
  -v, --version      print the version and exit
  -h, --help         print this help and exit
`;

function log(line: string): void {
  process.stderr.write(`berthd: ${line}\n`);
}

/** The generated protobuf code is made by scripts/gen-cri; say so when it is missing. */
function missingGeneratedCode(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
    err.message.includes('/cri/gen/')
  );
}

export async function serve(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (err) {
    log(`${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${versionLine().replace(/^berth /, 'berthd ')}\n`);
    return 0;
  }
  // Handlers first: a SIGTERM during start-up still shuts down cleanly once the socket is up.
  const stop = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
    // The default action of SIGHUP is to exit; the config reload it will trigger is not built yet.
    process.on('SIGHUP', () => log('SIGHUP: reloading the configuration is not implemented yet'));
  });
  try {
    const config: Config = loadConfig({ path: values.config, root: values.root, state: values.state });
    const cri = await import('../cri/index.ts');
    const path = cri.parseListenAddress(values.listen ?? config.cri.listen);
    const { openRuntimeServices } = await import('./runtime-services.ts');
    await using services = await openRuntimeServices(config, values.config);
    const { imageRpcDeps } = await import('./image-rpc-deps.ts');
    const { runtimeStatusDeps } = await import('./runtime-status-deps.ts');
    const streaming = await cri.startStreamServer({
      address: config.cri.stream_address,
      port: config.cri.stream_port,
      containers: services.runtime.containers,
      pods: services.runtime.pods,
      log: (line) => log(`streaming: ${line}`),
    });
    log(`streaming server on ${streaming.baseUrl}`);
    // Closed on every way out: a listening stream server would keep the process alive after a
    // failed start (another berthd already on the socket).
    try {
      const server = await cri.startCriServer(path, {
        runtimeVersion: berthVersion(),
        images: imageRpcDeps(config, services.services, log),
        runtimeStatus: runtimeStatusDeps(config),
        runtime: services.runtime,
        streaming,
      });
      log(`serving CRI runtime.v1 on unix://${path}`);
      const signal = await stop;
      log(`${signal}: shutting down (containers keep running)`);
      await server.close();
    } finally {
      await streaming.close();
    }
    return 0;
  } catch (err) {
    if (missingGeneratedCode(err)) {
      log('the generated CRI code is missing (src/cri/gen); run scripts/setup or npm run gen:cri');
      return 1;
    }
    if (!isBerthError(err)) throw err;
    log(err.message + (err.hint === undefined ? '' : `\nhint: ${err.hint}`));
    return 1;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      listen: { type: 'string' },
      config: { type: 'string' },
      root: { type: 'string' },
      state: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}
