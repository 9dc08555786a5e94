export { chainIDs } from './chain-id.ts';
export { collectGarbage, type GcDeps, type GcResult } from './gc.ts';
export {
  gcLabelsForConfig,
  gcLabelsForIndex,
  gcLabelsForManifest,
  gcRefContent,
  gcRefSnapshot,
} from './gc-labels.ts';
export { leavesFirst, markReachable } from './gc-mark.ts';
export { type ImageDetails, ImageService, normalizeName } from './image-service.ts';
export { type ApplyLayer, type PullDeps, type PullOptions, pullImage, pullLeaseLifetimeMs } from './pull.ts';
export type { LayerIngest, PullContent } from './pull-content.ts';
export { type PushedImage, type PushOptions, pushImage } from './push-image.ts';
export type * from './types.ts';
