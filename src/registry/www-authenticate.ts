// Parsing of the `WWW-Authenticate` header a registry sends with a 401 (RFC 9110 section 11.6.1 and
// 11.3; distribution docs/spec/auth/token.md "How to authenticate"). One header may carry several
// challenges, and parameter values are often quoted strings holding commas and colons, e.g.
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"
// so a split on "," is wrong; this is a small tokenizer over the RFC grammar:
//   challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//   auth-param = token BWS "=" BWS ( token / quoted-string )
// Pure: no I/O, unit-tested with tricky inputs in test/unit/registry-www-authenticate.test.ts.

export interface Challenge {
  /** The auth-scheme in lower case (`bearer`, `basic`): schemes are case-insensitive (RFC 9110 11.1). */
  scheme: string;
  /** Parameter names in lower case (they are case-insensitive too); values unquoted and unescaped. */
  params: Record<string, string>;
  /** A token68 credential-less form (`Negotiate abc==`), rare for registries but legal. */
  token68?: string;
}

const tchar = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

class Scanner {
  pos = 0;
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string {
    return this.text[this.pos] ?? '';
  }
  skipWhitespace(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }
  /** Skips whitespace and commas (empty list elements are allowed, RFC 9110 5.6.1). */
  skipSeparators(): void {
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.pos++;
  }
  token(): string {
    const start = this.pos;
    while (!this.done() && tchar.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }
  /**
   * An unquoted value. RFC 9110 allows only a token here, but servers write `realm=https://x/t`,
   * so be lenient: everything up to the next comma or whitespace.
   */
  bare(): string {
    const start = this.pos;
    while (!this.done() && !/[,\s]/.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }
  /** A quoted-string with backslash escapes; an unterminated one runs to the end (be lenient). */
  quoted(): string {
    this.pos++; // opening quote
    let out = '';
    while (!this.done()) {
      const c = this.peek();
      this.pos++;
      if (c === '"') return out;
      if (c === '\\' && !this.done()) {
        out += this.peek();
        this.pos++;
      } else {
        out += c;
      }
    }
    return out;
  }
}

/**
 * Looks ahead from the scanner position: is the next thing `name =` (an auth-param) rather than the
 * scheme of a new challenge? Does not move the scanner.
 */
function atAuthParam(s: Scanner): boolean {
  const save = s.pos;
  s.skipSeparators();
  const name = s.token();
  s.skipWhitespace();
  let isParam = name !== '' && s.peek() === '=';
  if (isParam) {
    // `abc==` or a trailing `abc=` is a token68 with padding, not a parameter named abc.
    s.pos++;
    s.skipWhitespace();
    isParam = !s.done() && s.peek() !== '=' && s.peek() !== ',';
  }
  s.pos = save;
  return isParam;
}

/** Parses every challenge of a `WWW-Authenticate` value; malformed parts are skipped, never thrown. */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const s = new Scanner(header);
  const out: Challenge[] = [];
  while (true) {
    s.skipSeparators();
    if (s.done()) break;
    const scheme = s.token();
    if (scheme === '') {
      s.pos++; // a stray character: skip it rather than loop forever
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    s.skipWhitespace();
    // token68: e.g. `Negotiate YII=`; recognised when what follows is not `name=value`.
    if (!s.done() && s.peek() !== ',' && !atAuthParam(s)) {
      const start = s.pos;
      while (!s.done() && /[A-Za-z0-9\-._~+/=]/.test(s.peek())) s.pos++;
      if (s.pos > start) challenge.token68 = s.text.slice(start, s.pos);
      continue;
    }
    while (atAuthParam(s)) {
      s.skipSeparators();
      const name = s.token().toLowerCase();
      s.skipWhitespace();
      s.pos++; // '='
      s.skipWhitespace();
      const value = s.peek() === '"' ? s.quoted() : s.bare();
      // First occurrence wins: a duplicated parameter is an error (RFC 9110 11.2), be predictable.
      if (!(name in challenge.params)) challenge.params[name] = value;
      s.skipWhitespace();
    }
  }
  return out;
}

/** Every `WWW-Authenticate` header value of a response (undici gives a string or an array). */
export function challengesOf(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  return values.flatMap(parseWwwAuthenticate);
}
