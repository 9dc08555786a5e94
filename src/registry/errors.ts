// Turning a registry's HTTP answer into one of berth's error classes, with a message that says which
// host, which repository, which object and which status, plus the registry's own error code and
// message when it sent the JSON body of distribution-spec "Error Codes":
//   {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": …}]}

import {
  type BerthError,
  CanceledError,
  DataLossError,
  DeadlineExceededError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
} from '../errdefs/index.ts';

/** What a request was about, for messages: `manifest "latest"`, `blob sha256:…`. */
export interface Subject {
  /** The registry host namespace as the user wrote it (`docker.io`, `127.0.0.1:5000`). */
  host: string;
  repository: string;
  /** `manifest "latest"`, `blob sha256:ab…`, `upload of blob sha256:ab…`. */
  object: string;
}

export interface RegistryErrorBody {
  code: string;
  message: string;
}

/** The most an error body is read: enough for the JSON errors list, never a whole blob. */
export const maxErrorBodyBytes = 64 * 1024;

/** The first entry of the distribution-spec error list, or undefined when the body is not one. */
export function parseErrorBody(body: string): RegistryErrorBody | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    if (err instanceof SyntaxError) return undefined; // an HTML error page from a proxy, say
    throw err;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const errors = (parsed as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const first: unknown = errors[0];
  if (typeof first !== 'object' || first === null) return undefined;
  const { code, message } = first as { code?: unknown; message?: unknown };
  return {
    code: typeof code === 'string' ? code : '',
    message: typeof message === 'string' ? message : '',
  };
}

export function where(s: Pick<Subject, 'host' | 'repository'>): string {
  return `${s.host}/${s.repository}`;
}

function detail(status: number, body: RegistryErrorBody | undefined, via: string | undefined): string {
  const parts = [`HTTP ${status}`];
  if (body !== undefined) parts.push([body.code, body.message].filter((p) => p !== '').join(': '));
  if (via !== undefined) parts.push(`via ${via}`);
  return parts.join(' ');
}

/**
 * The error for a final (not retried, or retries exhausted) HTTP status. `via` names the endpoint
 * when it is not the host itself (a mirror, registry-1.docker.io for docker.io).
 */
export function statusError(
  subject: Subject,
  status: number,
  body: RegistryErrorBody | undefined,
  via?: string,
): BerthError {
  const what = `${subject.object} in ${where(subject)}`;
  const why = detail(status, body, via);
  // The registry computed a different digest or size than we declared for what we uploaded.
  if (body?.code === 'DIGEST_INVALID' || body?.code === 'SIZE_INVALID')
    return new DataLossError(`${what}: ${subject.host} says the uploaded bytes do not match (${why})`);
  switch (status) {
    case 401:
      return new UnauthenticatedError(`${what}: credentials missing or refused by ${subject.host} (${why})`, {
        hint: `log in to ${subject.host} or check the credentials configured for it`,
      });
    case 403:
      return new PermissionDeniedError(`${what}: access denied by ${subject.host} (${why})`);
    case 404:
      return new NotFoundError(`${subject.object} not found in ${where(subject)} (${why})`);
    case 413:
      return new ResourceExhaustedError(`${what}: too large for ${subject.host} (${why})`);
    case 400:
    case 405:
    case 416:
      return new InvalidArgumentError(`${what}: request refused by ${subject.host} (${why})`);
    default:
      return new UnavailableError(`${what}: ${subject.host} answered ${why}`);
  }
}

/** Node/undici error codes that mean "the connection failed", worth another attempt. */
const connectionErrorCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return codeOf((err as { cause?: unknown }).cause);
}

/** True for a dropped or refused connection ("socket hang up" is ECONNRESET in Node). */
export function isConnectionError(err: unknown): boolean {
  const code = codeOf(err);
  if (code !== undefined && connectionErrorCodes.has(code)) return true;
  return err instanceof Error && /socket hang up|other side closed/i.test(err.message);
}

/** True when the caller's AbortSignal ended the request. */
export function isAbort(err: unknown): boolean {
  if (err instanceof CanceledError) return true;
  if (err instanceof Error && err.name === 'AbortError') return true;
  return codeOf(err) === 'UND_ERR_ABORTED';
}

/** Maps an error thrown by undici (connection, timeout, abort) to a berth error naming the subject. */
export function transportError(subject: Subject, endpoint: string, err: unknown): BerthError {
  const what = `${subject.object} in ${where(subject)}`;
  if (isAbort(err)) return new CanceledError(`${what}: canceled`, { cause: err });
  const code = codeOf(err);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new DeadlineExceededError(`${what}: ${endpoint} stopped answering (${code})`, { cause: err });
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new UnavailableError(`${what}: cannot reach ${endpoint}: ${reason}${code ? ` (${code})` : ''}`, {
    cause: err,
  });
}
