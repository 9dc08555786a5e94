// The kubelet's remote command protocol over SPDY (k8s.io/kubelet/pkg/cri/streaming/remotecommand
// httpstream.go; client: k8s.io/client-go/tools/remotecommand v2.go … v5.go), used by Exec and Attach.
//
// The client names the protocol versions it speaks in `X-Stream-Protocol-Version` (crictl 1.29:
// v5, v4, v3, v2, channel.k8s.io, in that order) and the server picks the first it also speaks. The
// client then opens one SPDY stream per channel, each with a `streamType` header: `error` always,
// `stdin` / `stdout` / `stderr` as asked for (no `stderr` with a tty), `resize` with a tty from v3 on.
// The server starts once all expected streams are there. At the end it writes the outcome on the
// error stream: v4 and v5 (which over SPDY is v4) a JSON metav1.Status carrying the exit code, older
// versions the message text of a failure and nothing on success.

import type { Duplex, Readable } from 'node:stream';
import { DeadlineExceededError } from '../../errdefs/index.ts';
import type { SpdyStream } from './spdy-session.ts';

export const STREAM_PROTOCOL_V5 = 'v5.channel.k8s.io';
export const STREAM_PROTOCOL_V4 = 'v4.channel.k8s.io';
export const STREAM_PROTOCOL_V3 = 'v3.channel.k8s.io';
export const STREAM_PROTOCOL_V2 = 'v2.channel.k8s.io';
export const STREAM_PROTOCOL_V1 = 'channel.k8s.io';

/** What the server speaks for exec and attach, best first. */
export const REMOTE_COMMAND_PROTOCOLS: readonly string[] = [
  STREAM_PROTOCOL_V5,
  STREAM_PROTOCOL_V4,
  STREAM_PROTOCOL_V3,
  STREAM_PROTOCOL_V2,
  STREAM_PROTOCOL_V1,
];

/** How long the client has to open its streams after the upgrade (the kubelet's default, 30 s). */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;

/**
 * The protocol to speak: the first of the client's (in its order) that the server speaks, as
 * apimachinery's httpstream.Handshake chooses. `X-Stream-Protocol-Version` may be repeated or hold a
 * comma-separated list. Undefined when none matches or the client named none.
 */
export function negotiateProtocol(
  headerValues: string | string[] | undefined,
  serverProtocols: readonly string[],
): string | undefined {
  const values =
    headerValues === undefined ? [] : Array.isArray(headerValues) ? headerValues : [headerValues];
  const client = values.flatMap((v) => v.split(',').map((p) => p.trim())).filter((p) => p !== '');
  return client.find((p) => serverProtocols.includes(p));
}

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** One duplex per channel: a SPDY stream each, or a WebSocket's channels (ws-session.ts). */
export interface CommandStreams {
  error: Duplex;
  stdin?: Duplex;
  stdout?: Duplex;
  stderr?: Duplex;
  resize?: Duplex;
}

type StreamType = keyof CommandStreams;
const STREAM_TYPES: readonly StreamType[] = ['error', 'stdin', 'stdout', 'stderr', 'resize'];

/** The streams the client opens for `opts` under `protocol` (httpstream.go createHTTPStreamStreams). */
export function expectedStreams(protocol: string, opts: StreamOptions): StreamType[] {
  const types: StreamType[] = ['error'];
  if (opts.stdin) types.push('stdin');
  if (opts.stdout) types.push('stdout');
  // The client opens no stderr with a tty: the terminal merges the two.
  if (opts.stderr && !opts.tty) types.push('stderr');
  if (opts.tty && protocol !== STREAM_PROTOCOL_V2 && protocol !== STREAM_PROTOCOL_V1) types.push('resize');
  return types;
}

/** Gathers a session's streams by type until the expected ones are all there. */
export class StreamCollector {
  readonly #expected: Set<StreamType>;
  readonly #streams: Partial<CommandStreams> = {};
  #resolve: ((s: CommandStreams) => void) | undefined;
  readonly #complete: Promise<CommandStreams>;

  constructor(expected: StreamType[]) {
    this.#expected = new Set(expected);
    this.#complete = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** The session's onStream: takes an expected stream once; refuses others. */
  accept = (stream: SpdyStream): boolean => {
    const type = stream.header('streamType') as StreamType | undefined;
    if (type === undefined || !STREAM_TYPES.includes(type) || !this.#expected.has(type)) return false;
    if (this.#streams[type] !== undefined) return false;
    this.#streams[type] = stream;
    if ([...this.#expected].every((t) => this.#streams[t] !== undefined)) {
      this.#resolve?.(this.#streams as CommandStreams);
    }
    return true;
  };

  /** The streams, once all came; DeadlineExceeded after `timeoutMs`; rejects when `signal` aborts. */
  async wait(timeoutMs: number, signal: AbortSignal): Promise<CommandStreams> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await Promise.race([
        this.#complete,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new DeadlineExceededError('timed out waiting for the client to create streams')),
            timeoutMs,
          );
          onAbort = () => reject(signal.reason);
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    }
  }
}

/** How a command ended, as the error stream reports it. */
export type CommandOutcome =
  | { kind: 'success' }
  | { kind: 'exit'; code: number; command: readonly string[] }
  | { kind: 'error'; message: string };

/**
 * The bytes written on the error stream for `outcome` under `protocol`; undefined for nothing. The v4
 * JSON is what the kubelet's ServeExec writes (apimachinery metav1.Status; StatusCause's Type field
 * is spelled `reason` in JSON), which client-go's errorDecoderV4 turns into an exit code.
 */
export function statusMessage(protocol: string, outcome: CommandOutcome): Buffer | undefined {
  let status: Record<string, unknown>;
  switch (outcome.kind) {
    case 'success':
      status = { metadata: {}, status: 'Success' };
      break;
    case 'exit': {
      // The client parses the code as an unsigned 8-bit number.
      const code = Math.min(Math.max(Math.trunc(outcome.code), 0), 255);
      status = {
        metadata: {},
        status: 'Failure',
        message: `command terminated with non-zero exit code: error executing command ${JSON.stringify(outcome.command)}, exit code ${code}`,
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
      };
      break;
    }
    case 'error':
      // apimachinery errors.NewInternalError
      status = {
        metadata: {},
        status: 'Failure',
        message: `Internal error occurred: ${outcome.message}`,
        reason: 'InternalError',
        details: { causes: [{ message: outcome.message }] },
        code: 500,
      };
      break;
  }
  if (protocol === STREAM_PROTOCOL_V4 || protocol === STREAM_PROTOCOL_V5) {
    return Buffer.from(JSON.stringify(status));
  }
  // v1–v3 (v1WriteStatusFunc): a failure's message as text, nothing on success.
  return outcome.kind === 'success' ? undefined : Buffer.from(String(status.message));
}

export interface TerminalSize {
  width: number;
  height: number;
}

/**
 * The sizes sent on a resize stream: client-go's json.Encoder writes `{"Width":W,"Height":H}` and a
 * newline per change (remotecommand.TerminalSize has no JSON tags). Malformed lines are skipped.
 */
export async function* terminalSizes(stream: Readable, maxLine = 4096): AsyncGenerator<TerminalSize> {
  let pending = '';
  for await (const chunk of stream) {
    pending += (chunk as Buffer).toString('utf8');
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const size = parseSize(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      if (size !== undefined) yield size;
      nl = pending.indexOf('\n');
    }
    if (pending.length > maxLine) pending = ''; // not a size: drop it rather than grow
  }
  const last = parseSize(pending);
  if (last !== undefined) yield last;
}

function parseSize(line: string): TerminalSize | undefined {
  if (line.trim() === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  // Go's decoder matches field names case-insensitively.
  const get = (name: string) =>
    Object.entries(v as Record<string, unknown>).find(([k]) => k.toLowerCase() === name)?.[1];
  const width = get('width');
  const height = get('height');
  if (!Number.isInteger(width) || !Number.isInteger(height)) return undefined;
  return { width: width as number, height: height as number };
}
