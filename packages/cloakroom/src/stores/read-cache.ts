import { ConfigError } from '../core/errors.js';

/** What a store's read cache has done since it was made, for metrics. */
export interface ReadCacheStats {
  /** Reads answered from memory. */
  hits: number;
  /** Reads that went to the database (not cached, or the cache could not be trusted). */
  misses: number;
  /** Entries dropped to stay within `maxEntries`. */
  evictions: number;
  /** Times every entry was dropped at once (another process or instance changed the data). */
  flushes: number;
  /** Entries held now. */
  size: number;
  /** The bound on `size`. */
  maxEntries: number;
}

/** The `cache` option of a store: `false` turns it off. */
export type ReadCacheOption = false | { maxEntries?: number };

/**
 * A bounded map of rows a store read, keyed by id. It holds what the database said, never a
 * decision: the store drops an entry on every write through it, and everything when it learns
 * that another connection changed the data. First in, first out: a hit does not reorder, so a
 * hit costs one `Map.get`, and an evicted row that is still in use is read again once.
 */
export interface ReadCache<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  delete(key: string): void;
  /** Drops every entry for which `match` is true (e.g. all sessions of one user). */
  deleteWhere(match: (value: V) => boolean): void;
  clear(): void;
  /** Counts a read that bypassed the cache (a transaction, an untrusted moment). */
  miss(): void;
  stats(): ReadCacheStats;
}

export const DEFAULT_CACHE_ENTRIES = 10_000;

/** The bound a `cache` option asks for, or `0` for no cache. */
export function cacheEntries(option: ReadCacheOption | undefined): number {
  if (option === false) return 0;
  const max = option?.maxEntries ?? DEFAULT_CACHE_ENTRIES;
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new ConfigError('cache.maxEntries', `must be an integer >= 0, got ${String(max)}`);
  }
  return max;
}

export function createReadCache<V>(maxEntries: number): ReadCache<V> {
  const map = new Map<string, V>();
  let hits = 0;
  let misses = 0;
  let evictions = 0;
  let flushes = 0;
  return {
    get(key) {
      const value = map.get(key);
      if (value === undefined) misses++;
      else hits++;
      return value;
    },
    set(key, value) {
      if (maxEntries === 0) return;
      map.delete(key);
      if (map.size >= maxEntries) {
        // The oldest entry: Map iterates in insertion order.
        const oldest = map.keys().next();
        if (!oldest.done) {
          map.delete(oldest.value);
          evictions++;
        }
      }
      map.set(key, value);
    },
    delete(key) {
      map.delete(key);
    },
    deleteWhere(match) {
      for (const [key, value] of map) if (match(value)) map.delete(key);
    },
    clear() {
      if (map.size > 0) flushes++;
      map.clear();
    },
    miss() {
      misses++;
    },
    stats: () => ({ hits, misses, evictions, flushes, size: map.size, maxEntries }),
  };
}
