export { CONMON_API_VERSION, conmonArgs } from './conmon-argv.ts';
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
