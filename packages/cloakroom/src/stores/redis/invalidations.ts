import { ConfigError, StoreError } from '../../core/errors.js';
import { type CoherentCache, LISTENER_HEARTBEAT_MS } from '../coherent-cache.js';
import type { RedisClientLike } from './client.js';

/** Where Redis publishes invalidation messages to a RESP2 connection that asked for them. */
export const INVALIDATE_CHANNEL = '__redis__:invalidate';

type Listener = (...args: unknown[]) => unknown;

/**
 * The part of a node-redis client the session cache listens on: a dedicated connection in RESP2
 * (`client.duplicate({ RESP: 2 })`), given to the store, which configures it on every `ready`.
 * The caller connects it, gives it an `error` listener and quits it.
 */
export interface RedisInvalidationClientLike {
  /** node-redis: `false` while connecting or reconnecting. */
  readonly isReady?: boolean;
  /** node-redis: `true` while the connection is subscribed (RESP2 then takes pub/sub commands only). */
  readonly isPubSubActive?: boolean;
  sendCommand(args: string[]): Promise<unknown>;
  /** node-redis passes this channel's payload as a list of keys (or `null`), whatever the type says. */
  subscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
  unsubscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
  on(event: 'ready' | 'end' | 'error' | 'reconnecting', listener: Listener): unknown;
  off(event: 'ready' | 'end' | 'error' | 'reconnecting', listener: Listener): unknown;
}

/** A Redis Cluster client (node-redis `createCluster()`): tracking is per node. */
const isCluster = (client: object): boolean => 'masters' in client || 'nodeClient' in client;
/** A node-redis `createSentinel()` client: its commands and its subscriptions use different connections. */
const isSentinel = (client: object): boolean => 'getMasterNode' in client;

/** Refuses a set-up where the invalidation messages could not cover every session key. */
export function checkInvalidationClient(
  client: RedisClientLike,
  invalidations: RedisInvalidationClientLike,
): void {
  if (
    invalidations === null ||
    typeof invalidations !== 'object' ||
    typeof invalidations.sendCommand !== 'function'
  ) {
    throw new ConfigError(
      'invalidations',
      'give a dedicated node-redis client in RESP2: client.duplicate({ RESP: 2 }), connected',
    );
  }
  if ((invalidations as object) === (client as object)) {
    throw new ConfigError(
      'invalidations',
      'must be a second connection (client.duplicate({ RESP: 2 })), not the store client',
    );
  }
  for (const [what, c] of [
    ['client', client],
    ['invalidations', invalidations],
  ] as const) {
    if (isCluster(c)) {
      throw new ConfigError(
        what,
        'the session cache is not supported on Redis Cluster (each node tracks only its own keys); leave out `invalidations` (and `cache`)',
      );
    }
    if (isSentinel(c)) {
      throw new ConfigError(
        what,
        'the session cache is not supported behind Sentinel (after a fail-over the listener would still follow the old primary); leave out `invalidations` (and `cache`)',
      );
    }
  }
}

/** What {@link listenForInvalidations} returns: a way to stop listening. */
export interface InvalidationListener {
  close(): Promise<void>;
}

/** `id=12 addr=… resp=2 …` → its fields. */
function clientInfo(reply: unknown): Map<string, string> {
  const fields = new Map<string, string>();
  for (const pair of String(reply).trim().split(' ')) {
    const at = pair.indexOf('=');
    if (at > 0) fields.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return fields;
}

/**
 * Keeps `cache` trusted exactly while Redis is reporting every change of a key under
 * `keyPrefix` to `client`, by any connection (another instance, the CLI, a script, expiry,
 * eviction, FLUSHDB). On every `ready` of the connection:
 *
 * 1. leave pub/sub mode if node-redis re-subscribed on reconnect (RESP2 allows nothing else in it);
 * 2. `CLIENT TRACKING off` (a re-run on a live connection), `CLIENT INFO` for its id and protocol;
 * 3. `CLIENT TRACKING on REDIRECT <own id> BCAST PREFIX <keyPrefix>`;
 * 4. `SUBSCRIBE __redis__:invalidate`; once confirmed, flush and trust.
 *
 * The connection redirects to ITSELF, so the tracking state and the channel it reports to live
 * and die together: Redis' `tracking-redir-broken` push (RESP3 only, sent to the tracking
 * connection when the redirect target goes away) has nobody else to tell, and this connection's
 * own `end`/`error`/`reconnecting` events are the signal. Any of them distrusts the cache at once;
 * the next `ready` runs the steps again. Messages come in order on one connection, so any
 * message sent before the subscription was confirmed has been handled by the time it is.
 */
export function listenForInvalidations(
  client: RedisInvalidationClientLike,
  keyPrefix: string,
  cache: Pick<CoherentCache<unknown>, 'invalidate' | 'invalidateAll' | 'trust' | 'renew' | 'distrust'>,
  onError: (error: StoreError) => void,
): InvalidationListener {
  let generation = 0;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;

  const onMessage = (message: unknown): void => {
    // node-redis hands this channel's payload over as a list of keys, or null for "everything"
    // (FLUSHDB, FLUSHALL); strings, or Buffers in buffer mode.
    if (message === null || message === undefined) {
      cache.invalidateAll();
      return;
    }
    const keys = Array.isArray(message) ? message : [message];
    for (const key of keys) {
      const text = String(key);
      if (text.startsWith(keyPrefix)) cache.invalidate(text.slice(keyPrefix.length));
      // A key outside the prefix cannot be ours: with BCAST PREFIX Redis never sends one.
    }
  };

  const setUp = async (mine: number): Promise<void> => {
    if (client.isPubSubActive === true) await client.unsubscribe(INVALIDATE_CHANNEL, onMessage);
    await client.sendCommand(['CLIENT', 'TRACKING', 'off']);
    const info = clientInfo(await client.sendCommand(['CLIENT', 'INFO']));
    const id = info.get('id');
    if (info.get('resp') !== '2' || id === undefined) {
      throw new StoreError(
        `redis session cache: the invalidation client speaks RESP${info.get('resp') ?? '?'}; give it RESP2 (client.duplicate({ RESP: 2 }))`,
      );
    }
    await client.sendCommand(['CLIENT', 'TRACKING', 'on', 'REDIRECT', id, 'BCAST', 'PREFIX', keyPrefix]);
    const sentAt = performance.now();
    await client.subscribe(INVALIDATE_CHANNEL, onMessage);
    if (mine !== generation || closed || client.isReady === false) return;
    cache.trust(sentAt);
    heartbeat(mine);
  };

  /**
   * A `PING` on the listening connection every LISTENER_HEARTBEAT_MS while this set-up is current.
   * Its answer comes after every message Redis queued before it, so each answer renews the
   * cache's lease from when the PING was sent; a Redis that stops answering (paused, cut off,
   * the connection still open) lets the lease run out.
   */
  const heartbeat = (mine: number): void => {
    const beat = setTimeout(() => {
      if (mine !== generation || closed) return;
      const sentAt = performance.now();
      client.sendCommand(['PING']).then(
        () => {
          if (mine !== generation || closed) return;
          cache.renew(sentAt);
          heartbeat(mine);
        },
        () => {
          // The connection's own events (error, end) distrust and set up again.
        },
      );
    }, LISTENER_HEARTBEAT_MS);
    beat.unref?.();
  };

  const start = (): void => {
    clearTimeout(retry);
    if (closed) return;
    const mine = ++generation;
    cache.distrust();
    setUp(mine).catch((error: unknown) => {
      if (mine !== generation || closed) return;
      cache.distrust();
      onError(
        error instanceof StoreError
          ? error
          : new StoreError(
              'redis session cache: could not listen for invalidations; the cache is off until it can',
              {
                cause: error,
              },
            ),
      );
      // Still connected (a refused command, not a lost connection): try again in a second;
      // a lost connection starts again on its next `ready`.
      if (client.isReady === true) {
        retry = setTimeout(start, 1_000);
        retry.unref?.();
      }
    });
  };

  const lost = (): void => {
    generation++;
    cache.distrust();
  };
  const onErrorEvent = (): void => {
    lost();
    // An error that did not take the connection down (a failed PING): set up again, since a
    // message may have been lost with it. A lost connection comes back through `ready`.
    if (client.isReady === true && !closed) {
      clearTimeout(retry);
      retry = setTimeout(start, 0);
      retry.unref?.();
    }
  };

  client.on('ready', start);
  client.on('end', lost);
  client.on('reconnecting', lost);
  client.on('error', onErrorEvent);
  if (client.isReady === true) start();

  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      lost();
      client.off('ready', start);
      client.off('end', lost);
      client.off('reconnecting', lost);
      client.off('error', onErrorEvent);
      if (client.isReady === true) {
        await client.unsubscribe(INVALIDATE_CHANNEL, onMessage).catch(() => {});
        await client.sendCommand(['CLIENT', 'TRACKING', 'off']).catch(() => {});
      }
    },
  };
}
