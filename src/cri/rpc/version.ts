// RuntimeService.Version: who serves the CRI. crictl prints these four fields; the kubelet only
// checks that it can call the runtime and logs the names.

import type { MessageInitShape } from '@bufbuild/protobuf';
import type { VersionRequest, VersionResponseSchema } from '../gen/api_pb.js';

/** The kubelet–runtime API version every v1 runtime reports (containerd and CRI-O say "0.1.0"). */
export const KUBE_RUNTIME_API_VERSION = '0.1.0';
export const RUNTIME_NAME = 'berth';
/** The CRI API version served: the `v1` of package runtime.v1. */
export const RUNTIME_API_VERSION = 'v1';

export interface VersionDeps {
  /** berth's own version (package.json). */
  runtimeVersion: string;
}

export function version(
  _req: VersionRequest,
  deps: VersionDeps,
): MessageInitShape<typeof VersionResponseSchema> {
  return {
    version: KUBE_RUNTIME_API_VERSION,
    runtimeName: RUNTIME_NAME,
    runtimeVersion: deps.runtimeVersion,
    runtimeApiVersion: RUNTIME_API_VERSION,
  };
}
