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
 * When full, the counter whose window started first is evicted: a window restart re-inserts
 * its key, so `Map` insertion order is start order and eviction is O(1).
 */
export function createMemoryCounters(maxCounters: number): MemoryCounters {
  const counters = new Map<string, CounterState>();

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
      if (counters.size >= maxCounters) {
        const oldest = counters.keys().next();
        if (oldest.done !== true) counters.delete(oldest.value);
      }
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
