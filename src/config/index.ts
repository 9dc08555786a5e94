export { defaultConfigText } from './default-text.ts';
export { DEFAULT_CONFIG_PATH, type LoadOptions, loadConfig } from './load.ts';
export { type Config, schema } from './schema.ts';
export { defaultConfig, validateConfig } from './validate.ts';
