export type { CoherentCacheStats } from '../coherent-cache.js';
export type { ReadCacheOption, ReadCacheStats } from '../read-cache.js';
export type { RedisClientLike, ScriptArguments } from './client.js';
export type { RedisInvalidationClientLike } from './invalidations.js';
export type { RedisKeys } from './keys.js';
export type { RedisSessionStore } from './sessions.js';
export { createRedisStore, type RedisStore, type RedisStoreOptions } from './store.js';
