export * from './state.ts';
export * from './types.ts';
export * from './validate-spec.ts';
