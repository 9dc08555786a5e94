export { createIfAbsent, replaceFile, syncDir } from './atomic-file.ts';
export { verifyConcurrency } from './blob-walk.ts';
export { lockStaleMs, lockWaitMs, withIndexLock } from './index-lock.ts';
export { ingestLockEmptyStaleMs } from './ingest-lock.ts';
export { imageLayoutVersion, indexFile, OciLayout, ociLayoutFile } from './layout.ts';
export { ContentStore, contentStoreDir } from './store.ts';
export type {
  BlobInfo,
  BlobSource,
  BlobWriter,
  ContentWriter,
  CorruptBlob,
  ExpectedBlob,
  ImageEntry,
  ImageIndex,
  Info,
  Ingester,
  IngestStatus,
  Manager,
  Provider,
  ReadOptions,
  SignalOptions,
  Store,
  VerifyReport,
  WriterOptions,
} from './types.ts';
