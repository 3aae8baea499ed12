export type { RedisClientLike, ScriptArguments } from './client.js';
export type { RedisKeys } from './keys.js';
export type { RedisSessionStore } from './sessions.js';
export { createRedisStore, type RedisStore, type RedisStoreOptions } from './store.js';
