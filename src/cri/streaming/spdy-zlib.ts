// SPDY/3 header compression (draft-mbelshe-httpbis-spdy-00 section 2.6.10.1): every header block of a
// session is one zlib stream per direction, primed with the SPDY/3 dictionary below and flushed with
// Z_SYNC_FLUSH at the end of each block, so a block decodes from the bytes of its own frame plus the
// stream's history. Go's spdystream (crictl, the kubelet) writes `78 f9` + the dictionary's adler32
// and then deflate blocks, continuing the same zlib stream frame after frame.
//
// Node's zlib streams are asynchronous, which would make frame parsing asynchronous too. The state
// that matters across frames is only the 32 KiB window (deflate distances reach no further back), so
// each block is (de)compressed synchronously as a raw deflate continuation whose preset dictionary is
// that window: the last 32 KiB of the dictionary followed by every block decoded so far.

import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';

/** The words of the SPDY/3 dictionary, each written as a 4-byte big-endian length and the word. */
const DICTIONARY_WORDS = [
  'options',
  'head',
  'post',
  'put',
  'delete',
  'trace',
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'accept-ranges',
  'age',
  'allow',
  'authorization',
  'cache-control',
  'connection',
  'content-base',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-md5',
  'content-range',
  'content-type',
  'date',
  'etag',
  'expect',
  'expires',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'pragma',
  'proxy-authenticate',
  'proxy-authorization',
  'range',
  'referer',
  'retry-after',
  'server',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'vary',
  'via',
  'warning',
  'www-authenticate',
  'method',
  'get',
  'status',
  '200 OK',
  'version',
  'HTTP/1.1',
  'url',
  'public',
  'set-cookie',
  'keep-alive',
  'origin',
];

/** The dictionary's unprefixed tail: status codes and texts, dates, common values. */
const DICTIONARY_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request' +
  '401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented' +
  '503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ' +
  'Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,' +
  'application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=' +
  'gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

function buildDictionary(): Buffer {
  const parts: Buffer[] = [];
  for (const word of DICTIONARY_WORDS) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(word.length);
    parts.push(len, Buffer.from(word, 'latin1'));
  }
  parts.push(Buffer.from(DICTIONARY_TAIL, 'latin1'));
  return Buffer.concat(parts);
}

/** The SPDY/3 header compression dictionary (1423 bytes). */
export const SPDY3_DICTIONARY: Buffer = buildDictionary();

/** RFC 1950 section 8.2. */
export function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; ) {
    // 5552 bytes keep the sums below 2^32 before the modulo (zlib's NMAX).
    const end = Math.min(i + 5552, data.length);
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** deflate's window: no back-reference reaches further than this. */
const WINDOW_BYTES = 32 * 1024;
/** The largest decompressed header block accepted: remotecommand and port-forward use a few bytes. */
export const MAX_HEADER_BLOCK_BYTES = 256 * 1024;

const DICTIONARY_ID = adler32(SPDY3_DICTIONARY);

function slide(window: Buffer, block: Buffer): Buffer {
  const joined = window.length === 0 ? block : Buffer.concat([window, block]);
  return joined.length <= WINDOW_BYTES ? joined : Buffer.from(joined.subarray(joined.length - WINDOW_BYTES));
}

export class HeaderCompressionError extends Error {
  override readonly name = 'HeaderCompressionError';
}

/** Compresses the header blocks one side of a session sends, in order. */
export class HeaderCompressor {
  #window: Buffer = SPDY3_DICTIONARY;
  #started = false;

  compress(block: Buffer): Buffer {
    const body = deflateRawSync(block, {
      dictionary: this.#window,
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    this.#window = slide(this.#window, block);
    if (this.#started) return body;
    this.#started = true;
    // zlib header (RFC 1950): CM 8 / 32 KiB window, FLEVEL 3, FDICT; then the dictionary's adler32.
    const head = Buffer.from([0x78, 0xf9, 0, 0, 0, 0]);
    head.writeUInt32BE(DICTIONARY_ID, 2);
    return Buffer.concat([head, body]);
  }
}

/** Decompresses the header blocks one side of a session receives, in order. */
export class HeaderDecompressor {
  #window: Buffer = Buffer.alloc(0);
  #started = false;

  decompress(data: Buffer): Buffer {
    let body = data;
    if (!this.#started) {
      if (data.length < 2) throw new HeaderCompressionError('header block: truncated zlib header');
      const cmf = data[0]!;
      const flg = data[1]!;
      if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0) {
        throw new HeaderCompressionError('header block: not a zlib stream');
      }
      body = data.subarray(2);
      if ((flg & 0x20) !== 0) {
        if (data.length < 6) throw new HeaderCompressionError('header block: truncated dictionary id');
        if (data.readUInt32BE(2) !== DICTIONARY_ID) {
          throw new HeaderCompressionError('header block: compressed with another dictionary than SPDY/3');
        }
        this.#window = SPDY3_DICTIONARY;
        body = data.subarray(6);
      }
      this.#started = true;
    }
    let block: Buffer;
    try {
      block = inflateRawSync(body, {
        ...(this.#window.length === 0 ? {} : { dictionary: this.#window }),
        finishFlush: constants.Z_SYNC_FLUSH,
        maxOutputLength: MAX_HEADER_BLOCK_BYTES,
      });
    } catch (err) {
      throw new HeaderCompressionError(`header block: ${(err as Error).message}`, { cause: err });
    }
    this.#window = slide(this.#window, block);
    return block;
  }
}
