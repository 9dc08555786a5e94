// berth's error classes to gRPC status codes: the one place where they meet (design: gRPC codes
// only in `cri`). Each RPC file throws NotFoundError, InvalidArgumentError, …; this interceptor turns
// them into the status the CRI client expects (kubelet treats NotFound on removal as success, etc.).
// Anything else is a bug and becomes Internal, with the message kept for the operator.

import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { BerthError, type ErrorCode } from '../errdefs/index.ts';

const grpcCodes: Record<ErrorCode, Code> = {
  NotFound: Code.NotFound,
  AlreadyExists: Code.AlreadyExists,
  InvalidArgument: Code.InvalidArgument,
  FailedPrecondition: Code.FailedPrecondition,
  Unavailable: Code.Unavailable,
  Unauthenticated: Code.Unauthenticated,
  PermissionDenied: Code.PermissionDenied,
  ResourceExhausted: Code.ResourceExhausted,
  DeadlineExceeded: Code.DeadlineExceeded,
  Canceled: Code.Canceled,
  DataLoss: Code.DataLoss,
  Unimplemented: Code.Unimplemented,
  Internal: Code.Internal,
};

/** The gRPC status for an error thrown by an RPC implementation. */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof BerthError) {
    return new ConnectError(err.message, grpcCodes[err.code], undefined, undefined, err);
  }
  return ConnectError.from(err, Code.Internal);
}

async function* mapStreamErrors<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    throw toConnectError(err);
  }
}

/** Server interceptor mapping errors of unary calls and of server streams (thrown mid-stream). */
export const mapErrors: Interceptor = (next) => async (req) => {
  try {
    const res = await next(req);
    return res.stream ? { ...res, message: mapStreamErrors(res.message) } : res;
  } catch (err) {
    throw toConnectError(err);
  }
};
