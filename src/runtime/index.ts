export * from './argv.ts';
export {
  crunRefusesHybrid,
  HIDE_UNIFIED_SCRIPT,
  hideUnifiedWrapper,
  hostNeedsUnifiedHidden,
} from './crun-hybrid.ts';
export {
  ERROR_LOG_LINES,
  OciRuntimeDriver,
  RUNTIME_CALL_DEADLINE_MS,
  RUNTIME_CREATE_DEADLINE_MS,
} from './driver.ts';
export { classifyFailure, logMessages, RuntimeFailure, runtimeError } from './errors.ts';
export { childProcessRunner, MAX_CAPTURED_OUTPUT } from './runner.ts';
export { findExecutable, isRuntimeName, resolveRuntime } from './runtimes.ts';
export type * from './types.ts';
export { runtimeNames } from './types.ts';
