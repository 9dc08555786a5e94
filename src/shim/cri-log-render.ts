// Turns CRI log records back into the bytes the container wrote, for `berth logs` and the foreground
// `berth run` (which prints the container's output by following its log): an `F` record is its text
// and the newline conmon took off, a `P` record its text alone (conmon src/ctr_logging.c
// write_k8s_log adds the record's `\n` itself after a partial line).
//
// `--timestamps` prefixes each line, once, with the time of its first record in docker's form
// (`docker logs -t`: UTC, nine fraction digits, docker's jsonmessage.RFC3339NanoFixed); lines of
// stdout and stderr may interleave, so "at the start of a line" is tracked per stream.

import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { CanceledError } from '../errdefs/index.ts';
import { toUtcNanoFixed } from './cri-log.ts';
import type { CriLogRecord, LogStream } from './types.ts';

const NEWLINE = Buffer.from('\n');

export interface RenderOptions {
  /** Prefix each line with its time, `2006-01-02T15:04:05.000000000Z `, as `docker logs -t` does. */
  timestamps?: boolean;
}

export class CriLogRenderer {
  readonly #timestamps: boolean;
  readonly #atLineStart: Record<LogStream, boolean> = { stdout: true, stderr: true };

  constructor(opts: RenderOptions = {}) {
    this.#timestamps = opts.timestamps === true;
  }

  /** The bytes a person sees for `rec`. */
  render(rec: CriLogRecord): Buffer {
    const parts: Buffer[] = [];
    if (this.#timestamps && this.#atLineStart[rec.stream]) {
      parts.push(Buffer.from(`${toUtcNanoFixed(rec.time)} `));
    }
    parts.push(rec.text);
    if (!rec.partial) parts.push(NEWLINE);
    this.#atLineStart[rec.stream] = !rec.partial;
    return parts.length === 1 ? rec.text : Buffer.concat(parts);
  }
}

export interface WriteLogOptions extends RenderOptions {
  signal?: AbortSignal;
}

/**
 * Writes `records` to `out.stdout` and `out.stderr` by stream, waiting for each stream to drain when
 * it asks to (a slow terminal or pipe holds the reader back instead of filling memory).
 */
export async function writeLog(
  records: AsyncIterable<CriLogRecord>,
  out: Record<LogStream, Writable>,
  opts: WriteLogOptions = {},
): Promise<void> {
  const renderer = new CriLogRenderer(opts);
  for await (const rec of records) {
    if (opts.signal?.aborted) throw new CanceledError('writing the container log: canceled');
    const dest = out[rec.stream];
    if (!dest.write(renderer.render(rec))) {
      // events.once rejects on the stream's 'error' and on abort, so a closed pipe cannot hang us.
      await once(dest, 'drain', opts.signal === undefined ? {} : { signal: opts.signal }).catch(
        (err: unknown) => {
          if (err instanceof Error && err.name === 'AbortError') {
            throw new CanceledError('writing the container log: canceled', { cause: err });
          }
          throw err;
        },
      );
    }
  }
}
