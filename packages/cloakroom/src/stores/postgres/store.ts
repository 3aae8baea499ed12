import type { UserRecord } from '../../auth/types.js';
import { type Clock, systemClock } from '../../core/clock.js';
import type { Duration } from '../../core/duration.js';
import { ConfigError, type StoreError } from '../../core/errors.js';
import { type CoherentCacheStats, createCoherentCache, LISTENER_HEARTBEAT_MS } from '../coherent-cache.js';
import { bounded, resolveTimeout, within } from '../deadline.js';
import { cacheEntries, type ReadCacheOption } from '../read-cache.js';
import { createSweeper, type SweepResult } from '../sweep.js';
import type { PgPoolLike } from './client.js';
import { createPostgresCounters, type PostgresCounterStore } from './counters.js';
import { listenForUserChanges, type PgListenerClientLike, type UserChangeListener } from './listener.js';
import { migrate } from './schema.js';
import { createPostgresSessions, type PostgresSessionStore } from './sessions.js';
import { tablesIn } from './tables.js';
import { createPostgresUsers, type PostgresUserStore } from './users.js';

/** Options of {@link createPostgresStore}. */
export interface PostgresStoreOptions {
  /**
   * A `pg.Pool`, owned by the caller: the store never creates, configures or ends it. Give it
   * `connectionTimeoutMillis` (fail fast while PostgreSQL is down) and an `error` listener.
   */
  pool: PgPoolLike;
  /** The schema holding the `cloakroom_*` tables; created by the migration if missing. Default `public`. */
  schema?: string;
  /** Where "now" comes from: the sweep, and refusing writes to expired sessions. Default: the system clock. */
  clock?: Clock;
  /** How often expired rows are swept, in ms; `0` starts no timer. Default 60,000. */
  sweepIntervalMs?: number;
  /** Rows deleted per sweep statement. Default 500. */
  sweepBatch?: number;
  /** Apply pending migrations before returning. Default `true`; `false` for a role without DDL rights. */
  migrate?: boolean;
  /** Told about a failed timed sweep (a timer has nobody to throw to). Default: ignored. */
  onSweepError?: (error: StoreError) => void;
  /**
   * Every call of `sessions`, `users`, `counters` and `ping` answers within this, or rejects
   * with `StoreError` `unavailable` (a 503), so a PostgreSQL that hangs is refused like one that
   * is down. Default `'2s'`; `false` turns it off. Migrations and sweeps are not bounded. Give
   * the pool `query_timeout` / `statement_timeout` too, so abandoned queries end (docs/scaling.md).
   */
  timeout?: Duration | false;
  /**
   * Makes a dedicated connection for the user cache, NOT from the pool:
   * `() => new pg.Client({ connectionString })`. Giving it turns on the cache of `users.getById`:
   * the store connects it, runs `LISTEN cloakroom_users` (a trigger of the migrations notifies
   * every change of a user row, by any writer: another instance, the CLI, psql) and checks it
   * with `SELECT 1` every second. While it is not listening the cache is neither read nor
   * filled; when it listens again the cache is flushed first. A lost connection is ended and a
   * new one made. The store ends it on `close()`. Sessions in PostgreSQL are not cached.
   */
  listener?: () => PgListenerClientLike;
  /**
   * The user read cache, only with `listener`: `{ maxEntries }` (default 10,000 users) or
   * `false` to keep it off. This store's own writes drop their entries before they resolve.
   */
  cache?: ReadCacheOption;
  /** Told when the listener connection fails (the cache is off until it is back). Default: ignored. */
  onCacheError?: (error: StoreError) => void;
}

/** The three stores on one PostgreSQL database, behind separate interfaces. */
export interface PostgresStore {
  sessions: PostgresSessionStore;
  users: PostgresUserStore;
  counters: PostgresCounterStore;
  /** Runs a full sweep now (expired sessions, ended counters) in batches of `sweepBatch`. */
  sweep(): Promise<SweepResult>;
  /** Resolves when PostgreSQL answers `SELECT 1`; rejects with `StoreError` otherwise (`/readyz`). */
  ping(): Promise<void>;
  /** What the user read cache has done; `null` when there is no cache. */
  cacheStats(): { users: CoherentCacheStats } | null;
  /**
   * Stops the sweep timer and ends the listener connection. The pool is the caller's: it stays
   * open. Idempotent.
   */
  close(): Promise<void>;
}

const checkInteger = (option: string, value: number, min: number): number => {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(option, `must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
};

/**
 * Sessions, users and throttling counters in PostgreSQL through the caller's `pg.Pool`:
 * migrations under an advisory lock, every statement prepared once per connection, expired
 * rows swept in small batches by an `unref()`'d timer. Driver failures become `StoreError`.
 * @example
 * import pg from 'pg';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 2_000 });
 * pool.on('error', (error) => log.warn({ err: error }, 'postgres'));
 * const store = await createPostgresStore({ pool });
 * // sessions: store.sessions, users: store.users, counters: store.counters
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const { pool } = options;
  if (pool === null || typeof pool !== 'object' || typeof pool.query !== 'function') {
    throw new ConfigError('pool', 'give a pg.Pool (new pg.Pool({ connectionString }) from `pg`)');
  }
  const tables = tablesIn(options.schema ?? 'public');
  const clock = options.clock ?? systemClock;
  const sweepIntervalMs = checkInteger('sweepIntervalMs', options.sweepIntervalMs ?? 60_000, 0);
  const sweepBatch = checkInteger('sweepBatch', options.sweepBatch ?? 500, 1);
  const timeout = resolveTimeout(options.timeout);
  const maxEntries = cacheEntries(options.cache);
  if (options.listener === undefined && options.cache !== undefined && options.cache !== false) {
    throw new ConfigError(
      'cache',
      "needs `listener` (a connection of its own: () => new pg.Client(…)): without it another instance's changes would go unheard",
    );
  }
  if (options.listener !== undefined && typeof options.listener !== 'function') {
    throw new ConfigError(
      'listener',
      'give a function that makes a new pg.Client: () => new pg.Client({ connectionString })',
    );
  }
  if (options.migrate !== false) await migrate(pool, { schema: tables.schema, now: clock.now() });

  const userCache =
    options.listener !== undefined && maxEntries > 0 ? createCoherentCache<UserRecord>(maxEntries) : null;
  let listener: UserChangeListener | null =
    userCache && options.listener
      ? listenForUserChanges(options.listener, userCache, {
          schema: tables.schema,
          timeoutMs: timeout ?? 2_000,
          heartbeatMs: LISTENER_HEARTBEAT_MS,
          onError: options.onCacheError ?? (() => {}),
        })
      : null;

  const sessions = createPostgresSessions(pool, tables, clock);
  const counters = createPostgresCounters(pool, tables);
  const sweeper = createSweeper({
    driver: 'postgres',
    sessions,
    counters,
    clock,
    batch: sweepBatch,
    intervalMs: sweepIntervalMs,
    onError: options.onSweepError,
  });

  return {
    sessions: bounded(sessions, timeout, 'postgres sessions'),
    users: bounded(createPostgresUsers(pool, tables, userCache), timeout, 'postgres users'),
    counters: bounded(counters, timeout, 'postgres counters'),
    sweep: () => sweeper.run(),
    ping: () => (timeout === null ? sessions.ping() : within(sessions.ping(), timeout, 'postgres ping')),
    cacheStats: () => (userCache === null ? null : { users: userCache.stats() }),
    async close() {
      sweeper.stop();
      const closing = listener;
      listener = null;
      await closing?.close();
    },
  };
}
