export { mountAll, unmount, unmountAll } from './mount.ts';
export { mountsUnder, parseMountInfo, readMountInfo } from './mountinfo.ts';
export type { Mount, MountInfo } from './types.ts';
