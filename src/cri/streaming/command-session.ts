// One exec or attach connection after the upgrade (the kubelet's ServeExec / ServeAttach):
//
//   SPDY session ─▶ wait for the client's streams (STREAM_CREATION_TIMEOUT_MS)
//     ─▶ run (exec: the process; attach: the container's I/O) until it ends or the client goes away
//     ─▶ stdout/stderr ended (FIN) ─▶ the outcome on the error stream, ended ─▶ GOAWAY, socket ended
//
// The client reads stdout and stderr to their end first and the error stream last, so the status
// must follow the output. A client that goes away aborts `run`'s signal (exec kills its process).

import type { Socket } from 'node:net';
import { CanceledError } from '../../errdefs/index.ts';
import {
  type CommandOutcome,
  type CommandStreams,
  expectedStreams,
  STREAM_CREATION_TIMEOUT_MS,
  StreamCollector,
  type StreamOptions,
  statusMessage,
} from './remote-command.ts';
import { SpdySession } from './spdy-session.ts';

/** A connection left idle this long is closed (the kubelet's StreamIdleTimeout). */
export const STREAM_IDLE_TIMEOUT_MS = 4 * 60 * 60 * 1000;

export type CommandRunner = (streams: CommandStreams, signal: AbortSignal) => Promise<CommandOutcome>;

export interface CommandSessionOptions {
  socket: Socket;
  head: Buffer;
  protocol: string;
  streams: StreamOptions;
  run: CommandRunner;
  log: (line: string) => void;
  /** What the log lines name (`exec in <id>`). */
  what: string;
  streamCreationTimeoutMs?: number;
}

export async function serveCommand(opts: CommandSessionOptions): Promise<void> {
  const collector = new StreamCollector(expectedStreams(opts.protocol, opts.streams));
  const session = new SpdySession(opts.socket, opts.head, {
    onStream: collector.accept,
    idleTimeoutMs: STREAM_IDLE_TIMEOUT_MS,
  });
  const gone = new AbortController();
  void session.closed.then(() => gone.abort(new CanceledError(`${opts.what}: the client went away`)));
  let streams: CommandStreams;
  try {
    streams = await collector.wait(opts.streamCreationTimeoutMs ?? STREAM_CREATION_TIMEOUT_MS, gone.signal);
  } catch (err) {
    if (!gone.signal.aborted) opts.log(`${opts.what}: ${(err as Error).message}`);
    session.destroy();
    return;
  }
  let outcome: CommandOutcome;
  try {
    outcome = await opts.run(streams, gone.signal);
  } catch (err) {
    outcome = { kind: 'error', message: (err as Error).message };
  }
  if (gone.signal.aborted) return;
  if (outcome.kind === 'error') opts.log(`${opts.what}: ${outcome.message}`);
  for (const s of [streams.stdout, streams.stderr]) {
    if (s !== undefined && !s.destroyed && !s.writableEnded) s.end();
  }
  const status = statusMessage(opts.protocol, outcome);
  if (!streams.error.destroyed) streams.error.end(status);
  await session.close();
}
