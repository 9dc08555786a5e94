export { createIfAbsent, replaceFile, syncDir } from './atomic-file.ts';
export { lockStaleMs, lockWaitMs, withIndexLock } from './index-lock.ts';
export { imageLayoutVersion, indexFile, OciLayout, ociLayoutFile } from './layout.ts';
export type { BlobInfo, BlobSource, BlobWriter, ExpectedBlob, SignalOptions } from './types.ts';
