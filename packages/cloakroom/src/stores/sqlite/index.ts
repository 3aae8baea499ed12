export type { SweepResult } from '../sweep.js';
export type { SqliteCounterStore } from './counters.js';
export { MIGRATIONS, migrate } from './schema.js';
export type { SqliteSessionStore } from './sessions.js';
export { createSqliteStore, type SqliteStore, type SqliteStoreOptions } from './store.js';
