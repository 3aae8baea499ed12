import { createReadCache, type ReadCacheStats } from './read-cache.js';

/**
 * How long one answered heartbeat of the listener keeps the cache trusted, counted from when the
 * heartbeat was sent. A listener that goes silent without an error (a hung server, a network
 * partition: the connection looks open) hears no change either; once its lease runs out the
 * cache answers nothing until a heartbeat is answered again. So another instance's acknowledged
 * change is missed for at most this long, even when nothing says the listener is gone.
 */
export const LISTENER_LEASE_MS = 1_000;
/** How often the listeners send their heartbeat: several per lease, so a slow answer does not end it. */
export const LISTENER_HEARTBEAT_MS = 250;

/** A cache kept honest by a listener: its stats, and whether it is trusted right now. */
export interface CoherentCacheStats extends ReadCacheStats {
  /**
   * `true` while the listener is confirmed (the cache answers); `false` while it is down or
   * being set up again (every read goes to the database).
   */
  listening: boolean;
}

/**
 * One read that may fill the cache: made by {@link CoherentCache.begin} before the read is sent,
 * handed back to {@link CoherentCache.settle} with what the database answered.
 */
export interface Fill {
  readonly key: string;
  /** The cache's trust epoch when the read was sent. */
  readonly epoch: number;
  /** The count of global invalidations when the read was sent. */
  readonly flushes: number;
  /** Shared by every read of this key in flight: set by an invalidation of the key. */
  readonly slot: Slot;
}

interface Slot {
  readers: number;
  dirty: boolean;
}

/**
 * A read cache that another connection keeps honest (Redis invalidation messages, PostgreSQL
 * notifications). It answers only while the listener is known to hear every change:
 *
 * - `trust()` is called once the listener is confirmed (subscribed, tracking on, LISTEN done),
 *   and the listener's answered heartbeats `renew()` a lease of {@link LISTENER_LEASE_MS}: a
 *   listener that goes silent without an error stops the cache when its lease runs out;
 *   it flushes first, so nothing cached before a gap is ever served after it.
 * - `distrust()` on any sign the listener may have missed something (disconnect, error, a
 *   heartbeat without answer): from then on nothing is read from or written to the cache.
 * - A read fills the cache only if, between sending it and receiving the reply, the cache stayed
 *   trusted (same epoch), nothing flushed it, and no invalidation of THAT key arrived. Per key
 *   rather than "any key": under write load (every touch is a write) a global rule would
 *   refuse most fills, and the per-key rule is exactly as safe, since an invalidation of another
 *   key says nothing about this one. A flush (FLUSHDB, TRUNCATE, a deleteByUser) poisons all.
 * - `null` (nothing found) is never cached: a row created elsewhere must be seen at once.
 */
export interface CoherentCache<V> {
  /** The cached value, or `undefined` (and a miss is counted) if absent or not trusted. */
  lookup(key: string): V | undefined;
  /** Starts a fill, or `null` when the cache is not trusted (read without caching). */
  begin(key: string): Fill | null;
  /** Ends a fill; caches `value` only if the fill is still clean (see above). Always call it. */
  settle(fill: Fill, value: V | null | undefined): void;
  /** Drops `key` and poisons reads of it in flight (an invalidation, or a write of our own). */
  invalidate(key: string): void;
  /** Drops matching entries and poisons every read in flight. */
  invalidateWhere(match: (value: V) => boolean): void;
  /** Drops everything and poisons every read in flight. */
  invalidateAll(): void;
  /**
   * Starts trusting (the listener is confirmed), for a first lease counted from `sentAt`, when
   * the confirmation was asked for (`performance.now()`).
   */
  trust(sentAt: number): void;
  /** Extends the lease: a heartbeat sent at `sentAt` was answered, so every change before it was heard. */
  renew(sentAt: number): void;
  distrust(): void;
  readonly trusted: boolean;
  stats(): CoherentCacheStats;
}

/**
 * @param live checked on every lookup and fill besides the trust flag: the listener's connection
 *   state as the driver sees it right now (node-redis `isReady`), in case an event is late.
 */
export function createCoherentCache<V>(
  maxEntries: number,
  live: () => boolean = () => true,
): CoherentCache<V> {
  const cache = createReadCache<V>(maxEntries);
  const pending = new Map<string, Slot>();
  let trusted = false;
  let epoch = 0;
  let flushes = 0;
  /** `performance.now()` until which the last answered heartbeat vouches for the listener. */
  let leaseUntil = 0;
  const leased = (): boolean => performance.now() < leaseUntil;

  const flush = (): void => {
    flushes++;
    cache.clear();
  };

  return {
    lookup(key) {
      if (!trusted || !leased() || !live()) {
        cache.miss();
        return undefined;
      }
      return cache.get(key);
    },
    begin(key) {
      if (!trusted || !leased() || !live()) return null;
      let slot = pending.get(key);
      if (slot === undefined) {
        slot = { readers: 0, dirty: false };
        pending.set(key, slot);
      }
      slot.readers++;
      return { key, epoch, flushes, slot };
    },
    settle(fill, value) {
      const { slot } = fill;
      if (--slot.readers === 0 && pending.get(fill.key) === slot) pending.delete(fill.key);
      if (value === null || value === undefined) return;
      if (!trusted || fill.epoch !== epoch || fill.flushes !== flushes || slot.dirty || !leased() || !live())
        return;
      cache.set(fill.key, value);
    },
    invalidate(key) {
      cache.delete(key);
      const slot = pending.get(key);
      if (slot !== undefined) {
        slot.dirty = true;
        // Reads sent from now on see the change: they get a clean slot of their own.
        pending.delete(key);
      }
    },
    invalidateWhere(match) {
      flushes++;
      cache.deleteWhere(match);
    },
    invalidateAll: flush,
    trust(sentAt) {
      epoch++;
      flush();
      trusted = true;
      leaseUntil = sentAt + LISTENER_LEASE_MS;
    },
    renew(sentAt) {
      if (trusted) leaseUntil = Math.max(leaseUntil, sentAt + LISTENER_LEASE_MS);
    },
    distrust() {
      if (!trusted) return;
      trusted = false;
      epoch++;
      flush();
    },
    get trusted() {
      return trusted;
    },
    stats: () => ({ ...cache.stats(), listening: trusted && leased() && live() }),
  };
}
