export {
  type ArchiveFormat,
  type ExportOptions,
  exportImages,
  exportImagesToFile,
} from './archive-export.ts';
export { type ImportedImage, type ImportOptions, importImages } from './archive-import.ts';
export { chainIDs } from './chain-id.ts';
export {
  collectGarbage,
  type GcContent,
  type GcDeps,
  type GcOptions,
  type GcResult,
  type GcRootSource,
  staleIngestMs,
  staleTempMs,
} from './gc.ts';
export {
  gcLabelsForConfig,
  gcLabelsForIndex,
  gcLabelsForManifest,
  gcRefContent,
  gcRefSnapshot,
} from './gc-labels.ts';
export { gcRoot, leasedSnapshotKeys, leavesFirst, markReachable } from './gc-mark.ts';
export { type ImageDetails, ImageService, normalizeName } from './image-service.ts';
export { type ApplyLayer, type PullDeps, type PullOptions, pullImage, pullLeaseLifetimeMs } from './pull.ts';
export type { LayerIngest, PullContent } from './pull-content.ts';
export { type PushedImage, type PushOptions, pushImage } from './push-image.ts';
export type * from './types.ts';
