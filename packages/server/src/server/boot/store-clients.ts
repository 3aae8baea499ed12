import { createRequire } from 'node:module';
import { within } from 'cloakroom';
import type { RedisClientLike } from 'cloakroom/redis';
import type pg from 'pg';
import type { Logger } from 'pino';
import type * as Redis from 'redis';

/** How often an idle Redis connection is checked with `PING`. */
export const REDIS_PING_INTERVAL_MS = 1_000;

/**
 * The drivers load when a client is first made, not with this module: a server or CLI command
 * on SQLite never needs them (node-redis alone is some 700 modules, a quarter of a second to
 * load). Both are CommonJS, so a synchronous require serves.
 */
const load = createRequire(import.meta.url);
const pgDriver = (): typeof pg => load('pg');
const redisDriver = (): typeof Redis => load('redis');

/**
 * The server's `pg.Pool`. Every wait is bounded by `timeoutMs` (CLOAKROOM_STORE_TIMEOUT), so a
 * PostgreSQL that hangs answers 503 instead of holding requests:
 * - `connectionTimeoutMillis`: a new connection, or a free one from a full pool;
 * - `query_timeout`: client side, covers a server that stopped answering (the connection is
 *   then discarded by the pool);
 * - `statement_timeout`: server side, so a query we gave up on (a lock wait) is cancelled there
 *   instead of running on and holding its locks.
 */
export function createPgPool(url: string, timeoutMs: number, logger: Logger): pg.Pool {
  const pool = new (pgDriver().Pool)({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    statement_timeout: timeoutMs,
  });
  // An idle client's error must not crash the process; the next query reports it as 503.
  pool.on('error', (error) =>
    logger.warn({ event: 'postgres.error', cause: error.message }, 'postgres error'),
  );
  return pool;
}

/**
 * A pool of one connection for the migrations, without the per-statement limits: DDL on a big
 * table, or waiting for another instance's advisory lock, may rightly take longer than a request.
 */
export function createMigrationPool(url: string, timeoutMs: number): pg.Pool {
  const pool = new (pgDriver().Pool)({ connectionString: url, max: 1, connectionTimeoutMillis: timeoutMs });
  pool.on('error', () => {});
  return pool;
}

/** The server's node-redis client, not yet connected. */
export interface RedisConnection {
  client: RedisClientLike;
  /** Connects in the background (a server may start while Redis is down). */
  connect(): void;
  close(): Promise<void>;
}

/**
 * The server's Redis client (a single node: `REDIS_URL`). Fail fast and never hang:
 * - `disableOfflineQueue`: while disconnected a command fails now (503) instead of queueing;
 * - `commandOptions.timeout: 0`: node-redis' own command timeout (5 s by default) is dropped the
 *   moment a command is written to the socket, so it never catches a Redis that stops answering,
 *   and it costs an `AbortSignal.timeout()` per command (~15 µs of CPU measured here). The
 *   stores' deadline around every call (their `timeout` option) bounds the wait instead;
 * - `pingInterval` + `socket.socketTimeout`: an idle connection is pinged every second, so a
 *   connection silent for longer than `timeoutMs + 1 s` is dead: it is closed, the commands
 *   waiting on it fail, and the client reconnects. (Under steady traffic every write resets that
 *   idle timer, which is why it cannot replace the deadline.)
 */
export function createRedisConnection(url: string, timeoutMs: number, logger: Logger): RedisConnection {
  const client = redisDriver().createClient({
    url,
    disableOfflineQueue: true,
    commandOptions: { timeout: 0 },
    pingInterval: REDIS_PING_INTERVAL_MS,
    socket: {
      connectTimeout: timeoutMs,
      socketTimeout: timeoutMs + REDIS_PING_INTERVAL_MS,
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
  return {
    client: client as unknown as RedisClientLike,
    connect() {
      client.connect().catch(() => {});
    },
    async close() {
      if (!client.isOpen) return;
      // close() waits for the commands in flight: a hung Redis must not hang the shutdown too.
      await within(client.close(), timeoutMs, 'redis close').catch(() => client.destroy());
    },
  };
}
