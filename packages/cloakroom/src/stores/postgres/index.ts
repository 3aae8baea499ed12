export type { SweepResult } from '../sweep.js';
export type { PgClientLike, PgPoolLike, PgQuery, PgResult } from './client.js';
export type { PostgresCounterStore } from './counters.js';
export { MIGRATIONS, type MigrateOptions, migrate } from './schema.js';
export type { PostgresSessionStore } from './sessions.js';
export { createPostgresStore, type PostgresStore, type PostgresStoreOptions } from './store.js';
export type { PostgresUserStore } from './users.js';
