export * from './digest.ts';
export * from './media-types.ts';
export * from './types.ts';
