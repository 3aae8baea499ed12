import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type Clock, systemClock } from '../../core/clock.js';
import { ConfigError, type StoreError } from '../../core/errors.js';
import { storeFailure } from '../errors.js';
import { cacheEntries, type ReadCacheOption, type ReadCacheStats } from '../read-cache.js';
import { createSweeper, type SweepResult } from '../sweep.js';
import { createCoherence } from './coherence.js';
import { createSqliteCounters, type SqliteCounterStore } from './counters.js';
import { migrate } from './schema.js';
import { createSqliteSessions, type SqliteSessionStore } from './sessions.js';
import { createSqliteUsers, type SqliteUserStore } from './users.js';

/** Options of {@link createSqliteStore}. Give `path` or `database`. */
export interface SqliteStoreOptions {
  /** The database file; its directory is created if missing. `:memory:` works for tests. */
  path?: string;
  /** An already open connection (e.g. `readonly`); the store configures it but never closes it. */
  database?: Database.Database;
  /** Where "now" comes from: the sweep, and refusing writes to expired sessions. Default: the system clock. */
  clock?: Clock;
  /** How often expired rows are swept, in ms; `0` starts no timer. Default 60,000. */
  sweepIntervalMs?: number;
  /** Rows deleted per sweep statement; the sweep yields to requests between batches. Default 500. */
  sweepBatch?: number;
  /** How long a statement waits for another process's write lock before failing. Default 5,000. */
  busyTimeoutMs?: number;
  /** Told about a failed timed sweep (a timer has nobody to throw to). Default: ignored. */
  onSweepError?: (error: StoreError) => void;
  /**
   * Keeps sessions and users read by id in memory, up to `maxEntries` of each (default 10,000;
   * `false` or `maxEntries: 0` turns it off). Never stale: every read first checks
   * `PRAGMA data_version`, which changes when another connection or process commits to the file,
   * and then drops every cached row; writes through this store drop the rows they change; nothing
   * read inside a transaction is kept. A write to the tables through `database` itself (not
   * through the store) is not seen: go through the store, or use another connection.
   */
  cache?: ReadCacheOption;
}

/** What the read caches of a SQLite store did. */
export interface SqliteCacheStats {
  sessions: ReadCacheStats;
  users: ReadCacheStats;
}

/** The three stores on one SQLite file, behind separate interfaces. */
export interface SqliteStore {
  sessions: SqliteSessionStore;
  users: SqliteUserStore;
  counters: SqliteCounterStore;
  /** The connection, for the CLI and for tests; prefer the store methods. */
  database: Database.Database;
  /** Runs a full sweep now (expired sessions, ended counters) in batches of `sweepBatch`. */
  sweep(): Promise<SweepResult>;
  /** Hits, misses, evictions, flushes and size of the read caches; `null` when `cache` is off. */
  cacheStats(): SqliteCacheStats | null;
  /** Stops the sweep timer and closes the connection if the store opened it. Idempotent. */
  close(): Promise<void>;
}

const checkInteger = (option: string, value: number, min: number): number => {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(option, `must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
};

function openDatabase(options: SqliteStoreOptions): { db: Database.Database; owned: boolean } {
  if (options.database !== undefined) return { db: options.database, owned: false };
  const path = options.path;
  if (path === undefined || path === '') {
    throw new ConfigError('path', 'give the SQLite database file (or an open `database`)');
  }
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  return { db: new Database(path), owned: true };
}

function configure(db: Database.Database, busyTimeoutMs: number): void {
  // busy_timeout first: the other pragmas and the migration may wait on another process.
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  // WAL: readers never block the writer nor each other, so session reads on every request
  // proceed while a sweep or sign-in writes. NORMAL is durable in WAL except for the last
  // commits on power loss, and never corrupts (https://sqlite.org/pragma.html#pragma_synchronous).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
}

/**
 * Sessions, users and throttling counters in one SQLite file via better-sqlite3: WAL,
 * migrations tracked in `PRAGMA user_version`, every statement prepared once, expired rows
 * swept in small batches by an `unref()`'d timer. Driver failures become `StoreError`.
 * @example
 * const store = createSqliteStore({ path: 'data/cloakroom.db' });
 * // sessions: store.sessions, users: store.users, counters: store.counters
 * await store.close();
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const clock = options.clock ?? systemClock;
  const sweepIntervalMs = checkInteger('sweepIntervalMs', options.sweepIntervalMs ?? 60_000, 0);
  const sweepBatch = checkInteger('sweepBatch', options.sweepBatch ?? 500, 1);
  const busyTimeoutMs = checkInteger('busyTimeoutMs', options.busyTimeoutMs ?? 5_000, 0);
  const maxEntries = cacheEntries(options.cache);

  let opened: { db: Database.Database; owned: boolean } | undefined;
  let sessions: SqliteSessionStore;
  let users: SqliteUserStore;
  let counters: SqliteCounterStore;
  try {
    opened = openDatabase(options);
    configure(opened.db, busyTimeoutMs);
    migrate(opened.db);
    const coherence = createCoherence(opened.db, maxEntries);
    sessions = createSqliteSessions(opened.db, clock, coherence);
    users = createSqliteUsers(opened.db, coherence);
    counters = createSqliteCounters(opened.db);
  } catch (error) {
    if (opened?.owned === true) opened.db.close();
    if (error instanceof ConfigError) throw error;
    throw storeFailure('sqlite', 'open', error);
  }
  const { db, owned } = opened;

  let closed = false;
  const sweeper = createSweeper({
    driver: 'sqlite',
    sessions,
    counters,
    clock,
    batch: sweepBatch,
    intervalMs: sweepIntervalMs,
    onError: options.onSweepError,
    yieldBetweenBatches: true,
  });

  return {
    sessions,
    users,
    counters,
    database: db,
    sweep: () => sweeper.run(),
    cacheStats() {
      const sessionStats = sessions.cacheStats();
      const userStats = users.cacheStats();
      return sessionStats && userStats ? { sessions: sessionStats, users: userStats } : null;
    },
    async close() {
      if (closed) return;
      closed = true;
      sweeper.stop();
      if (owned) db.close();
    },
  };
}
