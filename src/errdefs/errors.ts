// The small set of error classes every berth module throws (containerd's errdefs, pnpm's PnpmError).
// Each carries a stable `code`, a message that names the object and the reason, and the underlying
// error in `cause`. Mapping to gRPC status codes happens only in `cri`; mapping to exit codes and
// one-line hints only in `cli`.

export type ErrorCode =
  | 'NotFound'
  | 'AlreadyExists'
  | 'InvalidArgument'
  | 'FailedPrecondition'
  | 'Unavailable'
  | 'Unauthenticated'
  | 'PermissionDenied'
  | 'ResourceExhausted'
  | 'DeadlineExceeded'
  | 'Canceled'
  | 'DataLoss'
  | 'Unimplemented'
  | 'Internal';

export interface BerthErrorOptions {
  cause?: unknown;
  /** A short suggestion for the person reading the message, shown by the CLI. */
  hint?: string;
}

export abstract class BerthError extends Error {
  abstract readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(message: string, options: BerthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
  }

  override get name(): string {
    return `${this.code}Error`;
  }
}

/** The named object does not exist (an image, a blob, a container, a config file). */
export class NotFoundError extends BerthError {
  readonly code = 'NotFound';
}

/** Creating the named object would replace one that exists. */
export class AlreadyExistsError extends BerthError {
  readonly code = 'AlreadyExists';
}

/** The input is malformed: a bad reference, digest, config key, request field. */
export class InvalidArgumentError extends BerthError {
  readonly code = 'InvalidArgument';
}

/** The object is in a state that does not allow the operation (start a running container). */
export class FailedPreconditionError extends BerthError {
  readonly code = 'FailedPrecondition';
}

/** A dependency (registry, runtime binary, socket) cannot be reached right now; retrying may help. */
export class UnavailableError extends BerthError {
  readonly code = 'Unavailable';
}

/** Credentials are missing or were refused. */
export class UnauthenticatedError extends BerthError {
  readonly code = 'Unauthenticated';
}

/** Credentials were accepted but do not allow the operation. */
export class PermissionDeniedError extends BerthError {
  readonly code = 'PermissionDenied';
}

/** A size or count limit was hit (a manifest over 4 MiB, exec output over its cap). */
export class ResourceExhaustedError extends BerthError {
  readonly code = 'ResourceExhausted';
}

/** A named deadline passed before the operation finished. */
export class DeadlineExceededError extends BerthError {
  readonly code = 'DeadlineExceeded';
}

/** The caller aborted the operation through its AbortSignal. */
export class CanceledError extends BerthError {
  readonly code = 'Canceled';
}

/** Stored data failed verification (digest or size mismatch, corrupt record). */
export class DataLossError extends BerthError {
  readonly code = 'DataLoss';
}

/** The operation is known but not implemented. */
export class UnimplementedError extends BerthError {
  readonly code = 'Unimplemented';
}

/** A bug or an unexpected failure of the host; the message says what was being done. */
export class InternalError extends BerthError {
  readonly code = 'Internal';
}

export function isBerthError(err: unknown): err is BerthError {
  return err instanceof BerthError;
}

/** True when `err` is a Node system error with the given errno code (`ENOENT`, `EEXIST`, …). */
export function isErrno(err: unknown, code: string): err is NodeJS.ErrnoException {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
