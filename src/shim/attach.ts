// The container's stdin through conmon's attach socket (`-i`). conmon 2.1.6 (src/conn_sock.c
// setup_attach_socket, bind_unix_socket) binds a SOCK_SEQPACKET socket `attach` in the bundle and
// links `<socket dir>/<uuid>` → the bundle, so `<socket dir>/<uuid>/attach` stays under the 108-byte
// sun_path limit. It does so for every container, with or without `--stdin`.
//
// Input: each packet is written raw to the container's stdin, with no type byte (read_remote_sock:
// one read() per packet into a CONN_SOCK_BUF_SIZE = 32 KiB buffer; a longer packet is cut — SEQPACKET
// drops the rest — so packets must stay at or under 32 KiB). When the client shuts down its side
// (read() returns 0) conmon closes the container's stdin, unless started with --leave-stdin-open
// (terminate_remote_sock). With a terminal, that fd is the pty master, which conmon also holds as
// stdout, so closing it ends nothing: a terminal's end of input is ^D, as with docker.
// Output: conmon sends every chunk it reads from the container to each attached client as a packet
// `<1 byte: 2 stdout | 3 stderr><up to 8 KiB>` (src/ctr_stdio.c read_stdio, src/utils.h stdpipe_t),
// with a blocking write_all: a client that stops reading stalls conmon and then the container.
//
// Node has no SOCK_SEQPACKET sockets, so socat (Debian package) makes the connection:
// `socat -b 32768 -t 0.1 - UNIX-CONNECT:PATH,socktype=5`. Its stdin is our input, one read per
// packet; at our end of input it shuts the socket's write side down, then closes it. Its stdout goes to /dev/null: socat keeps
// reading conmon's output packets so conmon never blocks on us, and berth takes the output from the
// CRI log instead (socat's stdout is a byte stream that would lose the packet boundaries, and with
// them the stream bytes that tell stdout from stderr).
//
// A caller that must know when the connection stands (an exec session started with --exec-attach runs
// its process only after that) passes `onConnected`: socat then runs with `-d -d`, whose notice
// "starting data transfer loop" on stderr follows the connect (socat 1.7.4 xio and socat.c).

import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CanceledError, InvalidArgumentError, isBerthError, UnavailableError } from '../errdefs/index.ts';

/** conmon's read size for attach packets (src/config.h CONN_SOCK_BUF_SIZE); a larger packet is cut. */
export const ATTACH_PACKET_BYTES = 32 * 1024;
/** sun_path holds 108 bytes with the final NUL (unix(7)). */
const MAX_SOCKET_PATH = 107;
/**
 * socat's `-t`: how long it lingers after one side ended (default 0.5 s). Nothing is gained by waiting:
 * packets already sent stay queued for conmon after socat closes, and output is read from the log.
 */
const SOCAT_LINGER_SECONDS = '0.1';
/** Bytes of socat's stderr kept for error messages. */
const MAX_STDERR = 8 * 1024;

export interface AttachStdinOptions {
  signal?: AbortSignal;
  /** socat's path; default `socat` from PATH. */
  socatPath?: string;
  /** Called once socat is connected to the socket. */
  onConnected?: () => void;
}

/** Where conmon's attach socket is reached: `<socket dir>/<uuid>/attach` (the link to the bundle). */
export function attachSocketPath(socketDir: string, uuid: string): string {
  return `${socketDir.replace(/\/+$/, '')}/${uuid}/attach`;
}

/**
 * Copies `input` to the container's stdin through conmon's attach socket, then half-closes it so conmon
 * closes the container's stdin (`echo hi | berth run -i IMG cat` ends). Resolves when input has been
 * handed over and socat has exited, or when the container went away first (then the rest of `input`
 * is dropped). `input` is destroyed when the copy fails or is aborted. Aborting closes the connection,
 * which also closes the container's stdin.
 */
export async function attachStdin(
  socketPath: string,
  input: Readable,
  opts: AttachStdinOptions = {},
): Promise<void> {
  // socat reads `,` `:` and spaces in an address as syntax; berth's socket dirs never hold them.
  if (!/^[\w./@+=-]+$/.test(socketPath)) {
    throw new InvalidArgumentError(`attach socket ${JSON.stringify(socketPath)}: unsupported characters`);
  }
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new InvalidArgumentError(`attach socket ${socketPath}: path over ${MAX_SOCKET_PATH} bytes`, {
      hint: 'use a shorter socket dir: conmon links <socket dir>/<uuid> to the bundle for this reason',
    });
  }
  if (opts.signal?.aborted) throw new CanceledError(`attach to ${socketPath}: canceled`);
  const onConnected = opts.onConnected;
  const child = spawn(
    opts.socatPath ?? 'socat',
    [
      ...(onConnected === undefined ? [] : ['-d', '-d']),
      '-b',
      String(ATTACH_PACKET_BYTES),
      '-t',
      SOCAT_LINGER_SECONDS,
      '-',
      `UNIX-CONNECT:${socketPath},socktype=5`,
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  let partial = '';
  child.stderr?.on('data', (b: Buffer) => {
    if (onConnected === undefined) {
      if (stderr.length < MAX_STDERR) stderr += b.toString('utf8');
      return;
    }
    const lines = (partial + b.toString('utf8')).split('\n');
    partial = (lines.pop() ?? '').slice(-MAX_STDERR);
    for (const line of lines) {
      if (/ N starting data transfer loop/.test(line)) onConnected();
      // -d -d adds notices (N) and infos (I); only warnings and errors belong in a message.
      else if (!/socat\[\d+\] [DIN] /.test(line) && stderr.length < MAX_STDERR) stderr += `${line}\n`;
    }
  });
  const exited = exitOf(child);
  const onAbort = () => child.kill('SIGTERM');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const copy = pipeline(input, child.stdin!, opts.signal === undefined ? {} : { signal: opts.signal });
    const [copied, exit] = await Promise.allSettled([copy, exited]);
    if (opts.signal?.aborted) throw new CanceledError(`attach to ${socketPath}: canceled`);
    if (exit.status === 'rejected') {
      const err = exit.reason as NodeJS.ErrnoException;
      throw new UnavailableError(`attach to ${socketPath}: cannot run socat: ${err.message}`, {
        cause: err,
        hint: err.code === 'ENOENT' ? 'install socat (scripts/install-deps)' : undefined,
      });
    }
    const { code, signal } = exit.value;
    const msg = (stderr + partial).trim();
    // socat's "Broken pipe" / "Connection reset": conmon closed the socket (the container ended).
    if (code !== 0 && !/Broken pipe|Connection reset/.test(msg)) {
      const how = signal === null ? `exited with status ${code}` : `killed by ${signal}`;
      throw new UnavailableError(`attach to ${socketPath}: socat ${how}: ${msg || 'no message'}`);
    }
    if (copied.status === 'rejected' && !socatGone(copied.reason)) {
      const err = copied.reason as Error;
      if (isBerthError(err)) throw err;
      throw new UnavailableError(`attach to ${socketPath}: reading input: ${err.message}`, { cause: err });
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await Promise.allSettled([exited]); // its outcome was reported above, or an error is on its way
    }
  }
}

/** An error of writing to socat's stdin after socat had exited (it exits when conmon hangs up). */
function socatGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED';
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}
