import type { CounterStore } from '../../auth/types.js';
import { type Clock, systemClock } from '../../core/clock.js';
import type { Duration } from '../../core/duration.js';
import { ConfigError, type StoreError } from '../../core/errors.js';
import type { SessionRecord } from '../../core/store.js';
import { type CoherentCache, type CoherentCacheStats, createCoherentCache } from '../coherent-cache.js';
import { bounded, resolveTimeout, within } from '../deadline.js';
import { cacheEntries, type ReadCacheOption } from '../read-cache.js';
import type { RedisClientLike } from './client.js';
import { createRedisCounters } from './counters.js';
import {
  checkInvalidationClient,
  type InvalidationListener,
  listenForInvalidations,
  type RedisInvalidationClientLike,
} from './invalidations.js';
import { redisKeys } from './keys.js';
import { createRedisSessions, type RedisSessionStore } from './sessions.js';

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /**
   * A connected node-redis client (`createClient()` or `createCluster()`), owned by the caller:
   * the store never connects, configures or quits it. Give it `disableOfflineQueue: true`,
   * `commandOptions: { timeout: 0 }` (the store's `timeout` bounds each call instead) and
   * a `socket.connectTimeout`, and listen for its `error` event (docs/scaling.md).
   */
  client: RedisClientLike;
  /** Put before every key, so several apps can share one Redis. Default `cloakroom:`. */
  prefix?: string;
  /** The clock the core uses; TTLs are computed on it. Default: the system clock. */
  clock?: Clock;
  /**
   * Every store call answers within this, or rejects with `StoreError` `unavailable` (a 503):
   * a Redis that hangs (paused, overloaded, partitioned) is then refused like one that is down.
   * node-redis cannot do this itself: its command timeout ends once a command is written, and
   * its socket timeout is reset by every new command. Default `'2s'`; `false` turns it off.
   * With it on, give the client `commandOptions: { timeout: 0 }` (docs/scaling.md).
   */
  timeout?: Duration | false;
  /**
   * A second, dedicated node-redis connection in RESP2 (`client.duplicate({ RESP: 2 })`, with
   * the same fail-fast options as `client`), connected and with an `error` listener, owned by
   * the caller. Giving it turns on the session read cache: on every `ready` the store has Redis
   * report each change of a session key, by any client (another instance, the CLI, a script,
   * expiry), to this connection (`CLIENT TRACKING … BCAST PREFIX`, `SUBSCRIBE
   * __redis__:invalidate`). While it is not ready the cache is neither read nor filled; once it
   * is ready again the cache is flushed first. Not on Redis Cluster or behind Sentinel
   * (`ConfigError`). See docs/scaling.md.
   */
  invalidations?: RedisInvalidationClientLike;
  /**
   * The session read cache, only with `invalidations`: `{ maxEntries }` (default 10,000 sessions)
   * or `false` to keep it off while passing `invalidations`. A cached session is served only
   * while Redis is known to report every change to it; this instance's own writes drop their
   * entries before they resolve.
   */
  cache?: ReadCacheOption;
  /**
   * Told when the invalidation connection cannot be set up (a refused command, RESP3): the
   * cache stays off meanwhile, and the store tries again. Default: ignored.
   */
  onCacheError?: (error: StoreError) => void;
}

/** Sessions and throttling counters in Redis, behind separate interfaces. */
export interface RedisStore {
  sessions: RedisSessionStore;
  counters: CounterStore;
  /** Resolves when Redis answers `PING`; rejects with `StoreError` otherwise (`/readyz`). */
  ping(): Promise<void>;
  /** What the session read cache has done, per cache; `null` when there is no cache. */
  cacheStats(): { sessions: CoherentCacheStats } | null;
  /**
   * Stops listening for invalidations (the cache is off from then on). The clients belong to
   * the caller, who quits them. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Sessions and sign-in counters in Redis on the official node-redis client, correct on a
 * single server, behind Sentinel and on Redis Cluster. `get` is one `HGETALL`; every write is
 * one atomic single-key script; Redis expires sessions at `min(idle, absolute)` by itself.
 * Every client failure becomes a `StoreError` code `unavailable` (the server answers 503).
 * @example
 * import { createClient } from 'redis';
 * const client = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true,
 *   commandOptions: { timeout: 0 },
 *   socket: { connectTimeout: 2_000 } });
 * client.on('error', (error) => log.warn({ err: error }, 'redis'));
 * await client.connect();
 * const store = createRedisStore({ client });
 * // sessions: store.sessions, counters: store.counters
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const { client } = options;
  if (client === null || typeof client !== 'object' || typeof client.evalSha !== 'function') {
    throw new ConfigError(
      'client',
      'give a node-redis client (createClient() or createCluster() from `redis`)',
    );
  }
  const keys = redisKeys(options.prefix ?? 'cloakroom:');
  const timeout = resolveTimeout(options.timeout);
  const { invalidations } = options;
  let cache: CoherentCache<SessionRecord> | null = null;
  let listener: InvalidationListener | null = null;
  const maxEntries = cacheEntries(options.cache);
  if (invalidations === undefined) {
    if (options.cache !== undefined && options.cache !== false) {
      throw new ConfigError(
        'cache',
        "needs `invalidations` (a dedicated connection, client.duplicate({ RESP: 2 })): without it another instance's changes would go unheard",
      );
    }
  } else {
    checkInvalidationClient(client, invalidations);
    if (maxEntries > 0) {
      cache = createCoherentCache<SessionRecord>(maxEntries, () => invalidations.isReady !== false);
      listener = listenForInvalidations(
        invalidations,
        keys.session(''),
        cache,
        options.onCacheError ?? (() => {}),
      );
    }
  }
  const sessions = createRedisSessions(client, keys, options.clock ?? systemClock, cache);
  return {
    sessions: bounded(sessions, timeout, 'redis sessions'),
    counters: bounded(createRedisCounters(client, keys), timeout, 'redis counters'),
    ping: () => (timeout === null ? sessions.ping() : within(sessions.ping(), timeout, 'redis ping')),
    cacheStats: () => (cache === null ? null : { sessions: cache.stats() }),
    async close() {
      const closing = listener;
      listener = null;
      await closing?.close();
    },
  };
}
