import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock, CounterStore, SessionStore, UserStore } from 'cloakroom';
import { within } from 'cloakroom';
import type { ReadCacheStats } from 'cloakroom/sqlite';
import type { Logger } from 'pino';
import type { StoreTarget } from '../http/human-log.js';
import type { ServerConfig } from './config.js';
import {
  createMigrationPool,
  createPgListener,
  createPgPool,
  createRedisClusterConnection,
  createRedisConnection,
  createRedisInvalidationConnection,
  createRedisSentinelConnection,
  type RedisConnection,
  redisTopologyPlace,
} from './store-clients.js';

/** A store's read cache, as the metrics see it. */
export interface CacheSource {
  store: 'sqlite' | 'redis' | 'postgres';
  cache: 'sessions' | 'users';
  stats(): ReadCacheStats | null;
}

/** The stores the configuration names, opened and ready. */
export interface OpenStores {
  sessions: SessionStore;
  users: UserStore;
  counters: CounterStore;
  /** e.g. `sessions=redis users=postgres` for the start-up line. */
  description: string;
  /** The read caches in use, for the metrics. */
  caches: CacheSource[];
  /** Resolves when every backend answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The SQLite file inside the data dir. */
export function databasePath(config: ServerConfig): string {
  return join(config.dataDir, 'cloakroom.db');
}

/**
 * Where users and sessions live, for the start-up line: the SQLite file, or `[user@]host:port/db`
 * of Redis and PostgreSQL. Never the URL itself: no password, no query (`?password=`, `sslkey=`).
 */
export function storeTargets(config: ServerConfig): { users: StoreTarget; sessions: StoreTarget } {
  const users: StoreTarget = config.databaseUrl
    ? { store: 'postgres', at: place(config.databaseUrl) }
    : { store: 'sqlite', at: databasePath(config) };
  const topology = redisTopologyPlace(config);
  const sessions: StoreTarget = config.redisUrl
    ? { store: 'redis', at: place(config.redisUrl) }
    : topology
      ? { store: 'redis', at: topology }
      : users;
  return { users, sessions };
}

function place(raw: string): string {
  const url = new URL(raw);
  const user = url.username ? `${url.username}@` : '';
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${user}${url.host || 'localhost'}${path}`;
}

/**
 * Picks the stores from the environment (docs/configuration.md): `REDIS_URL` → sessions and throttle
 * counters in Redis; `DATABASE_URL` → users (and sessions, without Redis) in PostgreSQL;
 * otherwise everything in the embedded SQLite file.
 *
 * Every call to Redis or PostgreSQL answers within `CLOAKROOM_STORE_TIMEOUT` (the stores'
 * `timeout` option, stores/deadline.ts, and the driver options in store-clients.ts): a store that hangs becomes `StoreError` → 503, like
 * one that is down. SQLite needs no deadline: its calls run synchronously, and a write waits for
 * another process's lock at most `busyTimeoutMs`.
 *
 * Each store's module (and its driver, store-clients.ts) loads only when the configuration names
 * it: a CLI command on SQLite loads neither Redis nor PostgreSQL code.
 */
export async function openStores(config: ServerConfig, logger: Logger, clock: Clock): Promise<OpenStores> {
  const timeout = config.storeTimeoutMs;
  const closers: Array<() => Promise<void>> = [];
  const pings: Array<() => Promise<void>> = [];
  try {
    let users: UserStore;
    let sessions: SessionStore;
    let counters: CounterStore;
    const parts: string[] = [];
    const caches: CacheSource[] = [];
    let sqliteSessions: CacheSource['stats'] | null = null;

    if (config.databaseUrl) {
      const { databaseUrl } = config;
      await migrateFirst(config.databaseUrl, timeout, clock.now());
      const pool = createPgPool(config.databaseUrl, timeout, logger);
      // end() waits for each connection to close: a hung PostgreSQL must not hang the shutdown.
      closers.push(() => within(pool.end(), timeout, 'postgres close'));
      const { createPostgresStore } = await import('cloakroom/postgres');
      const store = await createPostgresStore({
        pool,
        clock,
        migrate: false,
        timeout: timeout / 1000,
        onSweepError: (error) => logger.warn({ event: 'sweep.failed', cause: error.message }, 'sweep failed'),
        // Users by id cached, coherent through LISTEN on a connection of its own (docs/scaling.md).
        ...(config.cacheEntries > 0
          ? {
              listener: () => createPgListener(databaseUrl, timeout),
              cache: { maxEntries: config.cacheEntries },
              onCacheError: cacheWarning(logger, 'postgres'),
            }
          : {}),
      });
      closers.unshift(() => store.close());
      pings.push(() => store.ping());
      ({ users, sessions, counters } = store);
      parts.push('users=postgres');
      if (config.cacheEntries > 0) {
        caches.push({ store: 'postgres', cache: 'users', stats: () => store.cacheStats()?.users ?? null });
      }
    } else {
      // The database holds password hashes: owner-only, whatever the umask.
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
      // Created 0600 before SQLite opens it: SQLite gives the -wal and -shm files the same mode,
      // whatever the directory's (a container volume may be world-readable).
      closeSync(openSync(databasePath(config), 'a', 0o600));
      chmodSync(databasePath(config), 0o600);
      // Readers never wait in WAL; a writer waits at most 2 s for another process's lock, so a
      // stuck database answers 503 quickly instead of hanging requests.
      const { createSqliteStore } = await import('cloakroom/sqlite');
      const store = createSqliteStore({
        path: databasePath(config),
        clock,
        cache: { maxEntries: config.cacheEntries },
        busyTimeoutMs: 2_000,
        onSweepError: (error) => logger.warn({ event: 'sweep.failed', cause: error.message }, 'sweep failed'),
      });
      closers.push(() => store.close());
      pings.push(async () => {
        await store.sessions.ping();
        await store.users.count();
      });
      ({ users, sessions, counters } = store);
      parts.push('users=sqlite');
      caches.push({ store: 'sqlite', cache: 'users', stats: () => store.users.cacheStats() });
      sqliteSessions = () => store.sessions.cacheStats();
    }

    const redis = redisConnection(config, logger);
    if (redis) {
      const { createRedisStore } = await import('cloakroom/redis');
      // Not awaited: a server started while Redis is down answers 503 and /readyz 503 until
      // the client connects, then recovers by itself.
      redis.connect();
      closers.unshift(() => redis.close());
      // One node (REDIS_URL): sessions cached, coherent through Redis' invalidation messages on a
      // second connection. Not on Cluster or Sentinel (docs/scaling.md).
      const invalidations =
        config.redisUrl && config.cacheEntries > 0
          ? createRedisInvalidationConnection(config.redisUrl, timeout, logger)
          : null;
      const store = createRedisStore({
        client: redis.client,
        clock,
        timeout: timeout / 1000,
        ...(invalidations
          ? {
              invalidations: invalidations.client,
              cache: { maxEntries: config.cacheEntries },
              onCacheError: cacheWarning(logger, 'redis'),
            }
          : {}),
      });
      if (invalidations) {
        invalidations.connect();
        // Run first to last: the store stops listening, then its connection closes.
        closers.unshift(() => invalidations.close());
        closers.unshift(() => store.close());
        caches.push({ store: 'redis', cache: 'sessions', stats: () => store.cacheStats()?.sessions ?? null });
      }
      pings.push(() => store.ping());
      const { checkNodes } = redis;
      if (checkNodes) pings.push(() => within(checkNodes(), timeout, 'redis nodes'));
      ({ sessions, counters } = store);
      parts.unshift(
        config.redisCluster
          ? 'sessions=redis-cluster'
          : config.redisSentinel
            ? 'sessions=redis-sentinel'
            : 'sessions=redis',
      );
    } else {
      parts.unshift(config.databaseUrl ? 'sessions=postgres' : 'sessions=sqlite');
      if (sqliteSessions) caches.push({ store: 'sqlite', cache: 'sessions', stats: sqliteSessions });
    }
    if (redis && !config.databaseUrl) warnUsersLocal(logger, config);

    return {
      sessions,
      users,
      counters,
      description: parts.join(' '),
      caches,
      async ping() {
        for (const ping of pings) await ping();
      },
      async close() {
        for (const close of closers) await close().catch(() => {});
      },
    };
  } catch (error) {
    for (const close of closers) await close().catch(() => {});
    throw error;
  }
}

/** Logs that a store's read cache is off for now (its listener connection failed), rate-limited. */
function cacheWarning(logger: Logger, store: string): (error: Error) => void {
  let lastLogged = 0;
  return (error) => {
    if (Date.now() - lastLogged < 10_000) return;
    lastLogged = Date.now();
    logger.warn(
      { event: 'cache.listener-down', store, cause: error.message },
      `${store} read cache off until its listener is back (every read goes to the store)`,
    );
  };
}

/** The Redis client the configuration names (one node, a cluster, Sentinel), or none. */
function redisConnection(config: ServerConfig, logger: Logger): RedisConnection | null {
  const timeout = config.storeTimeoutMs;
  if (config.redisUrl) return createRedisConnection(config.redisUrl, timeout, logger);
  if (config.redisCluster) return createRedisClusterConnection(config.redisCluster, timeout, logger);
  if (config.redisSentinel) return createRedisSentinelConnection(config.redisSentinel, timeout, logger);
  return null;
}

/** Applies pending migrations on a connection of their own, then lets it go. */
async function migrateFirst(url: string, timeoutMs: number, now: number): Promise<void> {
  const pool = createMigrationPool(url, timeoutMs);
  try {
    const { migrate } = await import('cloakroom/postgres');
    await migrate(pool, { now });
  } finally {
    await pool.end();
  }
}

/**
 * Redis alone shares sessions but not users: each instance keeps its own SQLite users, so
 * an account created on one instance does not exist on another. Right for one instance behind
 * a shared Redis, a silent split for several — so it is said at start-up.
 */
function warnUsersLocal(logger: Logger, config: ServerConfig): void {
  const variable = config.redisCluster
    ? 'REDIS_CLUSTER_NODES'
    : config.redisSentinel
      ? 'REDIS_SENTINELS'
      : 'REDIS_URL';
  logger.warn(
    { event: 'stores.users-local', dataDir: config.dataDir },
    `${variable} is set without DATABASE_URL: users, roles and password hashes stay in this instance's own SQLite file; several instances would each have their own users. Set DATABASE_URL to share them.`,
  );
}
