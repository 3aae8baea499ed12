export type { ReadCacheOption, ReadCacheStats } from '../read-cache.js';
export type { SweepResult } from '../sweep.js';
export type { SqliteCounterStore } from './counters.js';
export { MIGRATIONS, migrate } from './schema.js';
export type { SqliteSessionStore } from './sessions.js';
export {
  createSqliteStore,
  type SqliteCacheStats,
  type SqliteStore,
  type SqliteStoreOptions,
} from './store.js';
export type { SqliteUserStore } from './users.js';
