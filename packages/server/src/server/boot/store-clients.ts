import { createRequire } from 'node:module';
import { within } from 'cloakroom';
import type { RedisClientLike } from 'cloakroom/redis';
import type pg from 'pg';
import type { Logger } from 'pino';
import type * as Redis from 'redis';
import { addressesText, type RedisClusterSettings, type RedisSentinelSettings } from './redis-config.js';

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
  /**
   * Resolves when every node the sessions live on answers (readiness), beyond the store's own
   * `PING`, which reaches one node only. Absent for a single node.
   */
  checkNodes?(): Promise<void>;
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
  const client = redisDriver().createClient(singleNodeOptions(url, timeoutMs));
  client.on('error', rateLimitedWarning(logger));
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

/** The fail-fast options of a single-node connection (see createRedisConnection). */
function singleNodeOptions(url: string, timeoutMs: number) {
  return {
    url,
    disableOfflineQueue: true,
    commandOptions: { timeout: 0 },
    pingInterval: REDIS_PING_INTERVAL_MS,
    socket: {
      connectTimeout: timeoutMs,
      socketTimeout: timeoutMs + REDIS_PING_INTERVAL_MS,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2_000),
    },
  };
}

/**
 * The session cache's invalidation connection (`REDIS_URL` with `CLOAKROOM_CACHE_ENTRIES` > 0): a
 * second connection with the same fail-fast options, in RESP2 (Redis then publishes invalidations
 * on `__redis__:invalidate`, which the store subscribes to). Its `PING` every second and socket
 * timeout matter here too: a connection that died silently would hear nothing, and the store
 * trusts its cache only while this connection is ready.
 */
export function createRedisInvalidationConnection(url: string, timeoutMs: number, logger: Logger) {
  const client = redisDriver().createClient({ ...singleNodeOptions(url, timeoutMs), RESP: 2 });
  client.on('error', rateLimitedWarning(logger, 'redis invalidations'));
  return {
    client,
    connect() {
      client.connect().catch(() => {});
    },
    async close() {
      if (!client.isOpen) return;
      await within(client.close(), timeoutMs, 'redis close').catch(() => client.destroy());
    },
  };
}

/**
 * The user cache's listener connection (`DATABASE_URL` with `CLOAKROOM_CACHE_ENTRIES` > 0): a
 * `pg.Client` of its own, never from the pool; the store makes a new one whenever it is lost.
 */
export function createPgListener(url: string, timeoutMs: number): pg.Client {
  return new (pgDriver().Client)({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
}

/**
 * Logs a Redis client error at most every 10 s while Redis is away (the client retries by itself).
 * A Sentinel client's `error` event may carry an Error, a string, or `{ type, node, error }`.
 */
function rateLimitedWarning(logger: Logger, what = 'redis'): (error: unknown) => void {
  let lastLogged = 0;
  return (error: unknown) => {
    if (Date.now() - lastLogged > 10_000) {
      lastLogged = Date.now();
      logger.warn({ event: 'redis.error', cause: errorText(error) }, `${what} unavailable; retrying`);
    }
  };
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null && 'error' in error) return errorText(error.error);
  return String(error);
}

/** Backoff of a client's reconnection: 100 ms doubling, at most `ceilingMs`. */
const backoff =
  (ceilingMs: number) =>
  (retries: number): number =>
    Math.min(100 * 2 ** retries, ceilingMs);

/**
 * The socket options every node connection of a cluster or Sentinel set-up shares, as for one
 * node (see createRedisConnection): bounded connect, a silent connection closed after
 * `timeoutMs + 1 s`. A node that went away is retried at most every second: a fail-over ends in
 * about a second, and the next attempt should not wait longer than that.
 */
function nodeSocket(timeoutMs: number, tls: boolean) {
  const common = {
    connectTimeout: timeoutMs,
    socketTimeout: timeoutMs + REDIS_PING_INTERVAL_MS,
    reconnectStrategy: backoff(1_000),
  };
  return tls ? { ...common, tls: true as const } : common;
}

/**
 * Retries a topology client's first `connect()` until it succeeds or the connection is closed:
 * unlike a single-node client, a cluster or Sentinel client gives up when no seed answers, and the
 * server must start (answering 503) while Redis is down, then recover by itself.
 */
function connectInBackground(
  connect: () => Promise<unknown>,
  closed: () => boolean,
  warn: (error: unknown) => void,
) {
  let attempt = 0;
  const tryOnce = (): void => {
    if (closed()) return;
    connect().catch((error: unknown) => {
      if (closed()) return;
      warn(error);
      setTimeout(tryOnce, backoff(2_000)(attempt++)).unref();
    });
  };
  tryOnce();
}

/**
 * The server's Redis Cluster client (`REDIS_CLUSTER_NODES`), configured like the single-node one:
 * no offline queue on any node, node-redis' command timeout off (the store's deadline bounds every
 * call), a `PING` every second on idle node connections. Two settings for fail-over:
 * - `topologyRefreshOnReconnectionAttemptStrategy`: while a node's connection is being retried
 *   the client asks the cluster for its slot map again every 250 ms (node-redis waits 5 s by
 *   default), so the promoted replica gets the dead primary's slots soon after the cluster
 *   elected it;
 * - `useReplicas: false`: sessions are read from primaries only (a replica lags: a session just
 *   revoked may still be there).
 * Credentials and TLS come from the seed URLs and apply to every node the cluster reports.
 */
export function createRedisClusterConnection(
  settings: RedisClusterSettings,
  timeoutMs: number,
  logger: Logger,
): RedisConnection {
  const socket = nodeSocket(timeoutMs, settings.tls);
  const cluster = redisDriver().createCluster({
    rootNodes: settings.nodes.map(({ host, port }) => ({ socket: { ...socket, host, port } })),
    defaults: {
      ...settings.auth,
      disableOfflineQueue: true,
      pingInterval: REDIS_PING_INTERVAL_MS,
      socket,
    },
    commandOptions: { timeout: 0 },
    useReplicas: false,
    topologyRefreshOnReconnectionAttemptStrategy: 250,
  });
  const warn = rateLimitedWarning(logger, 'redis cluster');
  cluster.on('error', warn);
  let closed = false;
  return {
    client: cluster,
    connect() {
      connectInBackground(
        () => cluster.connect(),
        () => closed,
        warn,
      );
    },
    async close() {
      closed = true;
      if (!cluster.isOpen) return;
      await within(cluster.close(), timeoutMs, 'redis close').catch(() => cluster.destroy());
    },
    async checkNodes() {
      if (!cluster.isReady) throw new Error('redis cluster: not connected');
      // Every primary, not one: with one of them down, a share of all sessions is unreachable.
      await Promise.all(cluster.masters.map(async (node) => (await cluster.nodeClient(node)).ping()));
    },
  };
}

/**
 * The server's Redis client behind Sentinel (`REDIS_SENTINELS` + `REDIS_SENTINEL_MASTER`): it asks
 * the sentinels for the primary of that name, sends every command there, and follows a fail-over
 * (the sentinels' `+switch-master`, or a `READONLY` reply from a demoted primary). The same
 * fail-fast settings as for one node; while the client looks for the new primary its `isReady` is
 * false and the store answers 503 at once. One connection to the primary (`masterPoolSize: 1`),
 * none to replicas (they lag). `scanInterval` re-reads the topology every 10 s, in case a
 * sentinel's notification was missed.
 */
export function createRedisSentinelConnection(
  settings: RedisSentinelSettings,
  timeoutMs: number,
  logger: Logger,
): RedisConnection {
  const socket = nodeSocket(timeoutMs, settings.tls);
  const sentinel = redisDriver().createSentinel({
    name: settings.masterName,
    sentinelRootNodes: settings.sentinels,
    masterPoolSize: 1,
    replicaPoolSize: 0,
    scanInterval: 10_000,
    commandOptions: { timeout: 0 },
    passthroughClientErrorEvents: true,
    nodeClientOptions: {
      ...settings.masterAuth,
      disableOfflineQueue: true,
      pingInterval: REDIS_PING_INTERVAL_MS,
      socket,
    },
    sentinelClientOptions: { ...settings.sentinelAuth, socket },
  });
  const warn = rateLimitedWarning(logger, 'redis sentinel');
  sentinel.on('error', warn);
  let closed = false;
  return {
    client: sentinel,
    connect() {
      connectInBackground(
        () => sentinel.connect(),
        () => closed,
        warn,
      );
    },
    async close() {
      closed = true;
      if (!sentinel.isOpen) return;
      await within(sentinel.close(), timeoutMs, 'redis close').catch(() => sentinel.destroy());
    },
  };
}

/** Where the sessions live, for the start-up line: addresses only, never credentials. */
export function redisTopologyPlace(config: {
  redisCluster: RedisClusterSettings | null;
  redisSentinel: RedisSentinelSettings | null;
}): string | null {
  if (config.redisCluster) return `cluster ${addressesText(config.redisCluster.nodes)}`;
  if (config.redisSentinel) {
    return `sentinel ${config.redisSentinel.masterName} via ${addressesText(config.redisSentinel.sentinels)}`;
  }
  return null;
}
