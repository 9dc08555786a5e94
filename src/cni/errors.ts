// Errors from CNI plugins, typed by the plugin's own error code (CNI spec section 5 "Error": a JSON
// object with cniVersion, code, msg, details on stdout, and a non-zero exit). Each class extends the
// errdefs class the code means, so the CRI maps them to gRPC codes like any other berth error, and
// every one carries the plugin's JSON in `cni` so callers and logs see exactly what the plugin said.

import {
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
} from '../errdefs/index.ts';
import type { CniErrorInfo } from './types.ts';

/** Section 5's well-known codes (0-99 reserved; 100+ plugin-specific). */
export const CNI_ERROR_CODES = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  notAvailable: 50,
  notAvailableLimitedConnectivity: 51,
} as const;

function message(info: CniErrorInfo): string {
  const code = info.code === undefined ? '' : ` (code ${info.code})`;
  const details = info.details === undefined || info.details === '' ? '' : `: ${info.details}`;
  return `cni plugin ${info.plugin} ${info.command} failed${code}: ${info.msg}${details}`;
}

const hint = 'see the plugin error above; the network config is in the CNI conf dir';

/** Codes 1, 2, 4, 6, 7: the configuration or the call is wrong; retrying the same call cannot help. */
export class CniConfigError extends InvalidArgumentError {
  readonly cni: CniErrorInfo;
  constructor(info: CniErrorInfo, cause?: unknown) {
    super(message(info), { cause, hint });
    this.cni = info;
  }
}

/** Code 3: the plugin does not know the container, so no cleanup is needed (section 5). */
export class CniUnknownContainerError extends NotFoundError {
  readonly cni: CniErrorInfo;
  constructor(info: CniErrorInfo, cause?: unknown) {
    super(message(info), { cause });
    this.cni = info;
  }
}

/** Codes 11, 50, 51: transient or the plugin is not ready; the caller may retry later. */
export class CniUnavailableError extends UnavailableError {
  readonly cni: CniErrorInfo;
  constructor(info: CniErrorInfo, cause?: unknown) {
    super(message(info), { cause, hint: 'retry later' });
    this.cni = info;
  }
}

/** Code 1 alone is about versions: berth and the plugin share no protocol version. */
export class CniVersionError extends FailedPreconditionError {
  readonly cni: CniErrorInfo;
  constructor(info: CniErrorInfo, cause?: unknown) {
    super(message(info), { cause, hint: 'set a cniVersion the plugin supports in the network config' });
    this.cni = info;
  }
}

/** Any other failure: code 5, a plugin-specific code, or a crash without error JSON. */
export class CniPluginError extends InternalError {
  readonly cni: CniErrorInfo;
  constructor(info: CniErrorInfo, cause?: unknown) {
    super(message(info), { cause });
    this.cni = info;
  }
}

export type CniError =
  | CniConfigError
  | CniUnknownContainerError
  | CniUnavailableError
  | CniVersionError
  | CniPluginError;

/** The error class for a plugin's error result. */
export function cniError(info: CniErrorInfo, cause?: unknown): CniError {
  switch (info.code) {
    case CNI_ERROR_CODES.incompatibleVersion:
      return new CniVersionError(info, cause);
    case CNI_ERROR_CODES.unsupportedField:
    case CNI_ERROR_CODES.invalidEnvironment:
    case CNI_ERROR_CODES.decodeFailure:
    case CNI_ERROR_CODES.invalidConfig:
      return new CniConfigError(info, cause);
    case CNI_ERROR_CODES.unknownContainer:
      return new CniUnknownContainerError(info, cause);
    case CNI_ERROR_CODES.tryAgainLater:
    case CNI_ERROR_CODES.notAvailable:
    case CNI_ERROR_CODES.notAvailableLimitedConnectivity:
      return new CniUnavailableError(info, cause);
    default:
      return new CniPluginError(info, cause);
  }
}

export function isCniError(err: unknown): err is CniError {
  return (
    err instanceof CniConfigError ||
    err instanceof CniUnknownContainerError ||
    err instanceof CniUnavailableError ||
    err instanceof CniVersionError ||
    err instanceof CniPluginError
  );
}
