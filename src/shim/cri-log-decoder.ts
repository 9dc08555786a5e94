// A streaming decoder for the CRI log: bytes in (in chunks cut anywhere), records out. It holds at most
// one incomplete line, capped at MAX_CRI_LINE_BYTES, so memory stays bounded on any input.
//
// conmon writes each record with writev (src/ctr_logging.c writev_buffer_flush), which a reader can
// catch half done, and a record is at most its 8 KiB read buffer plus a 44-byte header
// (src/config.h STDIO_BUF_SIZE), so a line far longer than that is corruption, not output.

import { CriLogParseError, type LineOrigin, parseCriLogLine } from './cri-log.ts';
import type { CriLogRecord } from './types.ts';

/** The longest line accepted: a conmon record is at most ~8.3 KiB; this leaves room for other writers. */
export const MAX_CRI_LINE_BYTES = 1024 * 1024;

const NEWLINE = 0x0a;

export interface DecoderOptions {
  /** A name for the input (its path), for error messages. */
  source?: string;
  /** The byte offset in the file where the input starts (for error messages and `offset`). */
  offset?: number;
  maxLineBytes?: number;
}

/** Called per record with the byte offset where the record's line starts. */
export type RecordSink = (record: CriLogRecord, offset: number) => void;

export class CriLogDecoder {
  readonly #source: string | undefined;
  readonly #maxLine: number;
  #held: Buffer[] = [];
  #heldBytes = 0;
  #offset: number;
  #lineNumber = 0;

  constructor(opts: DecoderOptions = {}) {
    this.#source = opts.source;
    this.#offset = opts.offset ?? 0;
    this.#maxLine = opts.maxLineBytes ?? MAX_CRI_LINE_BYTES;
  }

  /** The offset just past the last complete line decoded: where a fresh decoder would start. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes of an incomplete line held until its `\n` arrives. */
  get pendingBytes(): number {
    return this.#heldBytes;
  }

  /** Decodes every complete line of `chunk` (and of what was held), in order. Texts are copies. */
  write(chunk: Uint8Array, sink: RecordSink): void {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE); nl >= 0; nl = buf.indexOf(NEWLINE, start)) {
      let line = buf.subarray(start, nl);
      if (this.#heldBytes > 0) {
        line = Buffer.concat([...this.#held, line]);
        this.#held = [];
        this.#heldBytes = 0;
      }
      this.#checkLength(line.byteLength, line);
      this.#lineNumber++;
      const origin: LineOrigin = { lineNumber: this.#lineNumber, offset: this.#offset };
      if (this.#source !== undefined) origin.source = this.#source;
      const rec = parseCriLogLine(line, origin);
      rec.text = Buffer.from(rec.text); // the caller may reuse the chunk's memory
      const at = this.#offset;
      this.#offset += line.byteLength + 1;
      sink(rec, at);
      start = nl + 1;
    }
    if (start < buf.byteLength) {
      const rest = buf.subarray(start);
      this.#checkLength(this.#heldBytes + rest.byteLength, rest);
      this.#held.push(Buffer.from(rest));
      this.#heldBytes += rest.byteLength;
    }
  }

  /** The records of `chunk`, as an array. */
  push(chunk: Uint8Array): CriLogRecord[] {
    const out: CriLogRecord[] = [];
    this.write(chunk, (r) => out.push(r));
    return out;
  }

  /** The input ended. Throws when it ended inside a line (every record conmon writes ends in `\n`). */
  end(): void {
    if (this.#heldBytes === 0) return;
    const rest = Buffer.concat(this.#held);
    this.discardPending();
    throw new CriLogParseError('the log ends inside a line (no final newline)', rest, {
      ...(this.#source === undefined ? {} : { source: this.#source }),
      lineNumber: this.#lineNumber + 1,
      offset: this.#offset,
    });
  }

  /** Drops an incomplete line (the file it came from was replaced or truncated). */
  discardPending(): void {
    this.#held = [];
    this.#heldBytes = 0;
  }

  #checkLength(n: number, sample: Uint8Array): void {
    if (n <= this.#maxLine) return;
    throw new CriLogParseError(`line longer than ${this.#maxLine} bytes`, sample, {
      ...(this.#source === undefined ? {} : { source: this.#source }),
      lineNumber: this.#lineNumber + 1,
      offset: this.#offset,
    });
  }
}

/** Decodes a byte stream of a CRI log into records; throws CriLogParseError on a malformed line. */
export async function* decodeCriLog(
  source: AsyncIterable<Uint8Array>,
  opts: DecoderOptions = {},
): AsyncGenerator<CriLogRecord> {
  const decoder = new CriLogDecoder(opts);
  for await (const chunk of source) yield* decoder.push(chunk);
  decoder.end();
}
