export {
  ATTACH_PACKET_BYTES,
  type AttachStdinOptions,
  attachSocketPath,
  attachStdin,
} from './attach.ts';
export {
  CTL_MESSAGE_BYTES,
  ctlFifoPath,
  RESIZE_MIN_GAP_MS,
  reopenContainerLog,
  resizeTerminal,
} from './attach-ctl.ts';
export { CONMON_API_VERSION, conmonArgs } from './conmon-argv.ts';
export {
  CriLogParseError,
  type LineOrigin,
  parseCriLogLine,
  sinceToNanos,
  timeToNanos,
  toUtcNanoFixed,
} from './cri-log.ts';
export {
  CriLogDecoder,
  type DecoderOptions,
  decodeCriLog,
  MAX_CRI_LINE_BYTES,
  type RecordSink,
} from './cri-log-decoder.ts';
export { LOG_POLL_MS, type WriterDone } from './cri-log-follow.ts';
export { LOG_READ_CHUNK_BYTES, type ReadLogOptions, readLog } from './cri-log-reader.ts';
export { CriLogRenderer, type RenderOptions, type WriteLogOptions, writeLog } from './cri-log-render.ts';
export { findTail, inTail, TAIL_LOOKBACK_BYTES, type TailWindow } from './cri-log-tail.ts';
export { EXIT_POLL_MS, readExitCode, type WatchOptions, watchExit } from './exit-file.ts';
export {
  type LaunchOptions,
  launchConmon,
  readPid,
  SHIM_KILL_DEADLINE_MS,
  SHIM_START_DEADLINE_MS,
} from './launcher.ts';
export { isAlive, procState, signalPid, waitGone } from './proc.ts';
export { MAX_SYNC_MESSAGE, parseSyncMessage, readSyncMessage, type SyncMessage } from './sync-pipe.ts';
export type * from './types.ts';
