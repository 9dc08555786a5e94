// PortForward over SPDY (protocol `portforward.k8s.io`; the kubelet's portforward/httpstream.go, the
// client is client-go tools/portforward). One connection carries many forwarded TCP connections:
// for each, the client opens an `error` stream and a `data` stream, both with headers `port` and
// `requestID` (older clients: no requestID, paired by stream id as the kubelet does). Once both are
// there, berth connects to 127.0.0.1:<port> inside the pod's network namespace and copies bytes both
// ways; the end of either side is passed on as a half-close, and both streams are ended when done.
//
// Node cannot enter a network namespace, so the connection is made by
// `nsenter --net=<pod netns> socat -t LINGER - TCP4:127.0.0.1:<port>` (a pod on the host's network
// needs no nsenter). A failure is written on the error stream as the kubelet writes it today:
// `{"closeConnection":…,"message":"error forwarding port …"}` (crictl 1.29 prints the text and closes
// its connection; newer clients keep the connection when closeConnection is false, which the kubelet
// sets for a connection reset or broken pipe only).

import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { FailedPreconditionError } from '../../errdefs/index.ts';
import type { Pod } from '../../pods/index.ts';
import { STREAM_IDLE_TIMEOUT_MS } from './command-session.ts';
import { discard, forward } from './forward.ts';
import { STREAM_CREATION_TIMEOUT_MS } from './remote-command.ts';
import { SpdySession, type SpdyStream } from './spdy-session.ts';

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/**
 * socat's `-t`: after one direction ended, how long the other may still carry data before socat
 * ends (its default, 0.5 s, would cut a reply that follows the client's half-close).
 */
export const PORT_FORWARD_LINGER_S = 60;
/** Bytes of socat's stderr kept for the error message. */
const MAX_STDERR = 4096;

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
  timer: NodeJS.Timeout;
}

export interface PortForwardOptions {
  socket: Socket;
  head: Buffer;
  pod: Pod;
  log: (line: string) => void;
  /** Overrides for tests. */
  socatPath?: string;
  nsenterPath?: string;
  streamCreationTimeoutMs?: number;
}

/** The argv connecting stdio to 127.0.0.1:`port` in the pod's network namespace. */
export function connectCommand(
  netns: string | undefined,
  port: number,
  tools: { socat?: string; nsenter?: string } = {},
): [string, string[]] {
  const socat = [tools.socat ?? 'socat', '-t', String(PORT_FORWARD_LINGER_S), '-', `TCP4:127.0.0.1:${port}`];
  if (netns === undefined) return [socat[0]!, socat.slice(1)];
  return [tools.nsenter ?? 'nsenter', [`--net=${netns}`, ...socat]];
}

/** The port a stream names: a whole number in 1..65535, or undefined. */
export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * The network namespace file to connect in: the pod's pinned netns; undefined for a pod on the host's
 * network. FailedPrecondition when the pod is not ready or its netns is gone.
 */
export function podNetns(pod: Pod): string | undefined {
  if (pod.status !== 'ready') {
    throw new FailedPreconditionError(`pod sandbox ${pod.id} is not ready (${pod.status})`);
  }
  if (pod.request.namespaces?.network === 'node') return undefined;
  if (pod.namespaces.net === undefined) {
    throw new FailedPreconditionError(`pod sandbox ${pod.id}: its network namespace is not pinned`);
  }
  return pod.namespaces.net;
}

export async function servePortForward(opts: PortForwardOptions): Promise<void> {
  const pairs = new Map<string, Pair>();
  const children = new Set<ChildProcess>();
  const netns = podNetns(opts.pod);
  const what = `port forward to pod ${opts.pod.id}`;

  const onStream = (stream: SpdyStream): boolean => {
    const type = stream.header('streamType');
    if (parsePort(stream.header('port')) === undefined || (type !== 'error' && type !== 'data')) return false;
    let id = stream.header('requestID');
    // Clients before request ids: error and data streams of one connection are consecutive (n, n+2).
    if (id === undefined) id = String(type === 'error' ? stream.id : stream.id - 2);
    let pair = pairs.get(id);
    if (pair === undefined) {
      const timer = setTimeout(() => {
        const p = pairs.get(id);
        pairs.delete(id);
        p?.error?.end(`timed out waiting for the streams of request ${id}`);
        p?.data?.reset();
      }, opts.streamCreationTimeoutMs ?? STREAM_CREATION_TIMEOUT_MS);
      timer.unref();
      pair = { timer };
      pairs.set(id, pair);
    }
    if (pair[type] !== undefined) return false; // a second stream of one type: refused
    pair[type] = stream;
    if (pair.error !== undefined && pair.data !== undefined) {
      clearTimeout(pair.timer);
      pairs.delete(id);
      const { error, data } = pair;
      // After the SYN_REPLY (this handler returns first): the client waits for it before writing.
      setImmediate(() => {
        forwardPair(error, data, netns, opts, children, what).catch((err: unknown) =>
          opts.log(`${what}: ${(err as Error).message}`),
        );
      });
    }
    return true;
  };

  const session = new SpdySession(opts.socket, opts.head, {
    onStream,
    idleTimeoutMs: STREAM_IDLE_TIMEOUT_MS,
  });
  await session.closed;
  for (const p of pairs.values()) clearTimeout(p.timer);
  for (const child of children) child.kill('SIGKILL');
}

async function forwardPair(
  error: SpdyStream,
  data: SpdyStream,
  netns: string | undefined,
  opts: PortForwardOptions,
  children: Set<ChildProcess>,
  what: string,
): Promise<void> {
  discard(error); // the client closes its side at once; it only reads this stream
  const port = parsePort(data.header('port'))!;
  const [file, args] = connectCommand(netns, port, {
    ...(opts.socatPath === undefined ? {} : { socat: opts.socatPath }),
    ...(opts.nsenterPath === undefined ? {} : { nsenter: opts.nsenterPath }),
  });
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    if (stderr.length < MAX_STDERR) stderr += b.toString('utf8');
  });
  const exit = new Promise<{ code: number | null; err?: Error }>((resolve) => {
    child.once('error', (err) => resolve({ code: null, err }));
    child.once('close', (code) => resolve({ code }));
  });
  // Client → pod: the client's FIN becomes socat's end of input, a half-close of the TCP connection.
  const input = child.stdin!;
  input.on('error', () => {
    data.unpipe(input);
    discard(data);
  });
  data.pipe(input);
  // A reset data stream (the client dropped the connection) ends the TCP connection at once.
  data.once('close', () => {
    if (!data.readableEnded && child.exitCode === null) child.kill('SIGTERM');
  });
  const toClient = forward(child.stdout!, data);
  const { code, err } = await exit;
  children.delete(child);
  await toClient;
  if (code !== 0 && !(data.destroyed && data.resetStatus !== undefined)) {
    const reason = err !== undefined ? `cannot run ${file}: ${err.message}` : socatMessage(stderr, code);
    const benign = /Connection reset by peer|Broken pipe/i.test(reason);
    const message = `error forwarding port ${port} to pod ${opts.pod.id}, uid : ${reason}`;
    opts.log(`${what}: ${message}`);
    if (!error.destroyed)
      error.write(`${JSON.stringify({ closeConnection: !benign || undefined, message })}`);
  }
  if (!error.destroyed && !error.writableEnded) error.end();
  if (!data.destroyed && !data.writableEnded) data.end();
}

/** socat's last error line without its timestamp prefix, or the exit status. */
function socatMessage(stderr: string, code: number | null): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const last = lines.at(-1);
  if (last === undefined) return `socat exited with status ${code}`;
  // `2024/01/01 10:00:00 socat[123] E connect(5, AF=2 127.0.0.1:8080, 16): Connection refused`
  return last.replace(/^.*?socat\[\d+\] [A-Z] /, '');
}
