import type { CounterStore } from '../../auth/types.js';
import { type Clock, systemClock } from '../../core/clock.js';
import type { Duration } from '../../core/duration.js';
import { ConfigError } from '../../core/errors.js';
import { bounded, resolveTimeout, within } from '../deadline.js';
import type { RedisClientLike } from './client.js';
import { createRedisCounters } from './counters.js';
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
}

/** Sessions and throttling counters in Redis, behind separate interfaces. */
export interface RedisStore {
  sessions: RedisSessionStore;
  counters: CounterStore;
  /** Resolves when Redis answers `PING`; rejects with `StoreError` otherwise (`/readyz`). */
  ping(): Promise<void>;
  /** Nothing to release: the client belongs to the caller, who quits it. Idempotent. */
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
  const sessions = createRedisSessions(client, keys, options.clock ?? systemClock);
  return {
    sessions: bounded(sessions, timeout, 'redis sessions'),
    counters: bounded(createRedisCounters(client, keys), timeout, 'redis counters'),
    ping: () => (timeout === null ? sessions.ping() : within(sessions.ping(), timeout, 'redis ping')),
    async close() {},
  };
}
