import type { CounterState, CounterStore } from '../../auth/types.js';

/** The counter half of the memory store, with what the sweep needs. */
export interface MemoryCounters extends CounterStore {
  readonly size: number;
  /** Removes every counter whose window has ended at `now`; returns how many. */
  sweep(now: number): number;
}

/**
 * Fixed-window counters in a `Map`, bounded to `maxCounters`. Throttling keys include client
 * IPs, which an attacker can vary, so an unbounded map would be a memory leak on demand.
 * When full, the counter whose window started first is evicted (a window restart re-inserts
 * its key, so `Map` insertion order is start order) — except a running lockout (`block:` keys of
 * the throttle): otherwise an attacker could flush a victim's lockout by filling the map from
 * many addresses. Lockouts are evicted only when nothing else is left.
 */
export function createMemoryCounters(maxCounters: number): MemoryCounters {
  const counters = new Map<string, CounterState>();

  const evictOne = (now: number): void => {
    let fallback: string | undefined;
    for (const [key, state] of counters) {
      if (now >= state.resetAt || !key.startsWith('block:')) {
        counters.delete(key);
        return;
      }
      fallback ??= key;
    }
    if (fallback !== undefined) counters.delete(fallback);
  };

  return {
    get size() {
      return counters.size;
    },

    async increment(key, windowMs, now) {
      const current = counters.get(key);
      if (current !== undefined && now < current.resetAt) {
        current.count++;
        return { ...current };
      }
      counters.delete(key);
      if (counters.size >= maxCounters) evictOne(now);
      const fresh = { count: 1, resetAt: now + windowMs };
      counters.set(key, fresh);
      return { ...fresh };
    },

    async get(key, now) {
      const current = counters.get(key);
      if (current === undefined) return null;
      if (now < current.resetAt) return { ...current };
      counters.delete(key);
      return null;
    },

    async reset(key) {
      counters.delete(key);
    },

    sweep(now) {
      let removed = 0;
      for (const [key, state] of counters) {
        if (now >= state.resetAt) {
          counters.delete(key);
          removed++;
        }
      }
      return removed;
    },
  };
}
