// What crosses between applyLayer (main thread) and its worker: plain data only. Errors travel as
// { code, message } and are rebuilt into the errdefs class of that code on the other side.

import {
  AlreadyExistsError,
  type BerthError,
  CanceledError,
  DataLossError,
  DeadlineExceededError,
  type ErrorCode,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  isBerthError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
  UnimplementedError,
} from '../errdefs/index.ts';
import type { LayerCompression } from '../oci/image/index.ts';
import type { ApplyLayerResult, WhiteoutMode } from './types.ts';

export interface WorkerInput {
  root: string;
  compression: LayerCompression;
  whiteouts: WhiteoutMode;
  sameOwner: boolean;
  devices: boolean;
  digest: string | undefined;
  digestAlgorithm: string;
  size: number | undefined;
  diffID: string | undefined;
  diffIDAlgorithm: string;
}

export type ToWorker =
  | { type: 'start'; input: WorkerInput }
  | { type: 'chunk'; data: Uint8Array }
  | { type: 'end' }
  | { type: 'abort' };

export type FromWorker =
  /** A chunk applied; its buffer comes back (transferred) for the main thread to fill again. */
  | { type: 'ack'; bytes: number; buffer: ArrayBuffer }
  | { type: 'done'; result: ApplyLayerResult }
  /** Answer to `abort`: the worker closed its file and stopped. */
  | { type: 'aborted' }
  | { type: 'error'; error: WireError };

export interface WireError {
  code: ErrorCode;
  message: string;
  hint?: string;
  /** The message of the underlying error (a system error's text with its errno code). */
  cause?: string;
}

export function toWire(err: unknown): WireError {
  if (isBerthError(err)) {
    const wire: WireError = { code: err.code, message: err.message };
    if (err.hint !== undefined) wire.hint = err.hint;
    if (err.cause instanceof Error) wire.cause = err.cause.message;
    return wire;
  }
  // A system error from an fs call, or a bug (Internal), with the original text.
  const message = err instanceof Error ? err.message : String(err);
  const errno = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  const code: ErrorCode =
    errno === 'ENOSPC' || errno === 'EDQUOT'
      ? 'ResourceExhausted'
      : errno === 'EPERM' || errno === 'EACCES'
        ? 'PermissionDenied'
        : 'Internal';
  return { code, message: `applying a layer: ${message}`, cause: message };
}

const classes: Record<
  ErrorCode,
  new (
    message: string,
    options?: { cause?: unknown; hint?: string },
  ) => BerthError
> = {
  NotFound: NotFoundError,
  AlreadyExists: AlreadyExistsError,
  InvalidArgument: InvalidArgumentError,
  FailedPrecondition: FailedPreconditionError,
  Unavailable: UnavailableError,
  Unauthenticated: UnauthenticatedError,
  PermissionDenied: PermissionDeniedError,
  ResourceExhausted: ResourceExhaustedError,
  DeadlineExceeded: DeadlineExceededError,
  Canceled: CanceledError,
  DataLoss: DataLossError,
  Unimplemented: UnimplementedError,
  Internal: InternalError,
};

export function fromWire(wire: WireError): BerthError {
  const Class = classes[wire.code] ?? InternalError;
  const options: { cause?: unknown; hint?: string } = {};
  if (wire.cause !== undefined) options.cause = new Error(wire.cause);
  if (wire.hint !== undefined) options.hint = wire.hint;
  return new Class(wire.message, options);
}
