// One line of the CRI log that conmon writes with `-l k8s-file:PATH` (conmon src/ctr_logging.c
// write_k8s_log): `<timestamp> <stdout|stderr> <P|F> <text>\n`. set_k8s_timestamp writes local time
// with nine fraction digits and the offset as `+HH:MM` (`2024-05-01T10:00:00.123456789+02:00`);
// kubelet's own writer uses `Z`. Both are RFC3339Nano, and both are accepted here.
//
// The tag may carry `:`-separated extras after P or F, which the parser ignores, as kubelet's parser
// does (pkg/kubelet/kuberuntime/logs/logs.go parseCRILog: "Keep this forward compatible").

import { DataLossError, InvalidArgumentError } from '../errdefs/index.ts';
import type { CriLogRecord, LogStream } from './types.ts';

const SPACE = 0x20;
const NEWLINE = 0x0a;
/** The longest timestamp field accepted (conmon's is 35 bytes: TSBUFLEN 44 minus " stdout "). */
const MAX_TIME_FIELD = 40;
const TIME_RE = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** Where a malformed line was found, for the error message. */
export interface LineOrigin {
  /** A name for the log (its path). */
  source?: string;
  /** 1-based number of the line among those decoded from `source`. */
  lineNumber?: number;
  /** Byte offset of the line in `source`. */
  offset?: number;
}

/** A line of a CRI log file that is not `<RFC3339Nano> <stdout|stderr> <P|F> <text>`. */
export class CriLogParseError extends DataLossError {
  readonly lineNumber: number | undefined;
  readonly offset: number | undefined;
  /** The start of the offending line, decoded as UTF-8 (at most 120 bytes). */
  readonly excerpt: string;

  constructor(reason: string, line: Uint8Array, origin: LineOrigin = {}) {
    const excerpt = Buffer.from(line.buffer, line.byteOffset, Math.min(line.byteLength, 120)).toString(
      'utf8',
    );
    const where = [
      origin.source ?? 'CRI log',
      origin.lineNumber === undefined ? '' : ` line ${origin.lineNumber}`,
      origin.offset === undefined ? '' : ` (byte ${origin.offset})`,
    ].join('');
    super(`${where}: ${reason}: ${JSON.stringify(excerpt)}`);
    this.lineNumber = origin.lineNumber;
    this.offset = origin.offset;
    this.excerpt = excerpt;
  }
}

/**
 * Parses one CRI log line (with or without its final `\n`). The record's `text` is a view of `line`'s
 * memory, not a copy: copy it before reusing the buffer.
 */
export function parseCriLogLine(line: Uint8Array, origin?: LineOrigin): CriLogRecord {
  let buf = Buffer.from(line.buffer, line.byteOffset, line.byteLength);
  if (buf.at(-1) === NEWLINE) buf = buf.subarray(0, -1);
  const t = buf.indexOf(SPACE);
  if (t < 0 || t > MAX_TIME_FIELD) throw new CriLogParseError('no timestamp field', line, origin);
  const time = buf.toString('latin1', 0, t);
  if (!TIME_RE.test(time)) throw new CriLogParseError('timestamp is not RFC3339Nano', line, origin);
  const s = buf.indexOf(SPACE, t + 1);
  const streamName = s < 0 ? '' : buf.toString('latin1', t + 1, s);
  if (streamName !== 'stdout' && streamName !== 'stderr') {
    throw new CriLogParseError('stream is not stdout or stderr', line, origin);
  }
  const g = buf.indexOf(SPACE, s + 1);
  if (g < 0) throw new CriLogParseError('no P/F tag', line, origin);
  const tag = buf.toString('latin1', s + 1, g).split(':')[0];
  if (tag !== 'P' && tag !== 'F')
    throw new CriLogParseError(`tag is ${JSON.stringify(tag)}, not P or F`, line, origin);
  return { time, stream: streamName as LogStream, partial: tag === 'P', text: buf.subarray(g + 1) };
}

/** Nanoseconds since the Unix epoch of an RFC3339(Nano) timestamp (any offset), or undefined. */
function nanosOf(time: string): bigint | undefined {
  const m = TIME_RE.exec(time);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  const utcSeconds = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) / 1000;
  let offsetSeconds = 0;
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    offsetSeconds = sign * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60);
  }
  return BigInt(utcSeconds - offsetSeconds) * 1_000_000_000n + BigInt(frac.padEnd(9, '0'));
}

/** Nanoseconds since the Unix epoch of a record's timestamp. */
export function timeToNanos(time: string): bigint {
  const n = nanosOf(time);
  if (n === undefined) throw new DataLossError(`not an RFC3339Nano timestamp: ${JSON.stringify(time)}`);
  return n;
}

/** A `since` bound as epoch nanoseconds: a Date (millisecond precision) or an RFC3339(Nano) string. */
export function sinceToNanos(since: Date | string): bigint {
  const ms = typeof since === 'string' ? Number.NaN : since.getTime();
  const n =
    typeof since === 'string' ? nanosOf(since) : Number.isNaN(ms) ? undefined : BigInt(ms) * 1_000_000n;
  if (n === undefined) {
    throw new InvalidArgumentError(`since: not an RFC3339 timestamp: ${JSON.stringify(since)}`);
  }
  return n;
}

/**
 * `time` in UTC with nine fraction digits, `2006-01-02T15:04:05.000000000Z`: the form `docker logs -t`
 * prints (docker's jsonmessage.RFC3339NanoFixed).
 */
export function toUtcNanoFixed(time: string): string {
  const nanos = timeToNanos(time);
  const seconds = nanos / 1_000_000_000n - (nanos < 0n && nanos % 1_000_000_000n !== 0n ? 1n : 0n);
  const frac = nanos - seconds * 1_000_000_000n;
  const iso = new Date(Number(seconds) * 1000).toISOString(); // 2006-01-02T15:04:05.000Z
  return `${iso.slice(0, 19)}.${frac.toString().padStart(9, '0')}Z`;
}
