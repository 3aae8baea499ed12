import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { createClient } from 'redis';
import type { CounterStore, UserStore } from '../auth/types.js';
import type { Clock } from '../core/clock.js';
import type { SessionStore } from '../core/store.js';
import { createPostgresStore } from '../stores/postgres/index.js';
import type { RedisClientLike } from '../stores/redis/client.js';
import { createRedisStore } from '../stores/redis/index.js';
import { createSqliteStore } from '../stores/sqlite/index.js';
import type { ServerConfig } from './config.js';

/** The stores the configuration names, opened and ready. */
export interface OpenStores {
  sessions: SessionStore;
  users: UserStore;
  counters: CounterStore;
  /** e.g. `sessions=redis users=postgres` for the start-up line. */
  description: string;
  /** Resolves when every backend answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The SQLite file inside the data dir. */
export function databasePath(config: ServerConfig): string {
  return join(config.dataDir, 'cloakroom.db');
}

/**
 * Picks the stores from the environment (DESIGN.md): `REDIS_URL` → sessions and throttle
 * counters in Redis; `DATABASE_URL` → users (and sessions, without Redis) in PostgreSQL;
 * otherwise everything in the embedded SQLite file.
 */
export async function openStores(config: ServerConfig, logger: Logger, clock: Clock): Promise<OpenStores> {
  const closers: Array<() => Promise<void>> = [];
  const pings: Array<() => Promise<void>> = [];
  try {
    let users: UserStore;
    let sessions: SessionStore;
    let counters: CounterStore;
    const parts: string[] = [];

    if (config.databaseUrl) {
      const pool = new pg.Pool({
        connectionString: config.databaseUrl,
        connectionTimeoutMillis: 2_000,
        max: 10,
      });
      // An idle client's error must not crash the process; the next query reports it as 503.
      pool.on('error', (error) =>
        logger.warn({ event: 'postgres.error', cause: error.message }, 'postgres error'),
      );
      closers.push(() => pool.end());
      const store = await createPostgresStore({
        pool,
        clock,
        onSweepError: (error) => logger.warn({ event: 'sweep.failed', cause: error.message }, 'sweep failed'),
      });
      closers.unshift(() => store.close());
      pings.push(() => store.ping());
      ({ users, sessions, counters } = store);
      parts.push('users=postgres');
    } else {
      // The database holds password hashes: owner-only, whatever the umask.
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
      // Created 0600 before SQLite opens it: SQLite gives the -wal and -shm files the same mode,
      // whatever the directory's (a container volume may be world-readable).
      closeSync(openSync(databasePath(config), 'a', 0o600));
      chmodSync(databasePath(config), 0o600);
      // Readers never wait in WAL; a writer waits at most 2 s for another process's lock, so a
      // stuck database answers 503 quickly instead of hanging requests.
      const store = createSqliteStore({
        path: databasePath(config),
        clock,
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
    }

    if (config.redisUrl) {
      const client = createClient({
        url: config.redisUrl,
        // Fail fast while Redis is down (503) instead of queueing requests until it returns.
        disableOfflineQueue: true,
        socket: {
          connectTimeout: 2_000,
          reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2_000),
        },
      });
      let lastLogged = 0;
      client.on('error', (error: Error) => {
        // The client retries by itself; log at most every 10 s while Redis is away.
        if (Date.now() - lastLogged > 10_000) {
          lastLogged = Date.now();
          logger.warn({ event: 'redis.error', cause: error.message }, 'redis unavailable; retrying');
        }
      });
      // Not awaited: a server started while Redis is down answers 503 and /readyz 503 until
      // the client connects, then recovers by itself.
      client.connect().catch(() => {});
      closers.unshift(async () => {
        if (client.isOpen) await client.close();
      });
      const store = createRedisStore({ client: client as unknown as RedisClientLike, clock });
      pings.push(() => store.ping());
      sessions = store.sessions;
      counters = store.counters;
      parts.unshift('sessions=redis');
    } else {
      parts.unshift(config.databaseUrl ? 'sessions=postgres' : 'sessions=sqlite');
    }

    return {
      sessions,
      users,
      counters,
      description: parts.join(' '),
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
