import type { CounterStore } from '../../auth/types.js';
import { type Clock, systemClock } from '../../core/clock.js';
import { ConfigError } from '../../core/errors.js';
import type { SessionBinding, SessionStore } from '../../core/store.js';
import { createMemoryCounters } from './counters.js';
import { createMemorySessions } from './sessions.js';

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** Most sessions held at once; creating one more evicts the nearest to expiry. Default 10,000. */
  maxSessions?: number;
  /** Most throttling counters held at once; one more evicts the oldest window. Default 10,000. */
  maxCounters?: number;
  /** Where "now" comes from for drop-on-read and the sweep timer. Default: the system clock. */
  clock?: Clock;
  /** How often expired sessions and counters are swept, in ms; `0` starts no timer. Default 60,000. */
  sweepIntervalMs?: number;
}

/**
 * A session store with its throttling counters alongside. The counters are a property, not
 * the object itself: `SessionStore.get(id)` and `CounterStore.get(key, now)` share a name
 * with different results, so one object cannot honestly be both.
 */
export interface MemoryStore extends SessionStore {
  /** Sign-in throttling counters living in the same process and lifetime as the sessions. */
  readonly counters: CounterStore;
  /** Sessions held right now, expired but unswept ones included. Never above `maxSessions`. */
  readonly size: number;
  /** Removes up to `limit` (default: all) sessions expired at `now`; returns how many. */
  sweep(now: number, limit?: number): Promise<number>;
  /** Replaces a live session's binding if it is still `expected` (see `SessionStore.bind`). */
  bind(id: string, expected: SessionBinding | null, next: SessionBinding): Promise<boolean>;
  /** Stops the sweep timer. The data stays readable. */
  close(): Promise<void>;
}

const positiveInteger = (option: string, value: number): number => {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(option, `must be a positive integer, got ${String(value)}`);
  }
  return value;
};

/**
 * An in-process store for development, tests and single-instance deployments that can lose
 * sessions on restart. Unlike express-session's MemoryStore it is bounded and expires:
 * expired records are dropped when read and swept by an `unref()`'d timer, and when
 * `maxSessions` is reached a new session evicts the one nearest to its deadline.
 * @example
 * const store = createMemoryStore({ maxSessions: 50_000 });
 * // sessions: store, counters: store.counters
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const clock = options.clock ?? systemClock;
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs < 0) {
    throw new ConfigError('sweepIntervalMs', `must be 0 (no timer) or a positive number of ms`);
  }
  const sessions = createMemorySessions(clock, positiveInteger('maxSessions', options.maxSessions ?? 10_000));
  const counters = createMemoryCounters(positiveInteger('maxCounters', options.maxCounters ?? 10_000));

  let timer: NodeJS.Timeout | undefined;
  if (sweepIntervalMs > 0) {
    timer = setInterval(() => {
      const now = clock.now();
      void sessions.sweep(now);
      counters.sweep(now);
    }, sweepIntervalMs);
    // The timer is housekeeping: it must never be what keeps a process alive.
    timer.unref();
  }

  return {
    get: sessions.get,
    create: sessions.create,
    touch: sessions.touch,
    updateData: sessions.updateData,
    bind: sessions.bind,
    delete: sessions.delete,
    deleteByUser: sessions.deleteByUser,
    listByUser: sessions.listByUser,
    sweep: sessions.sweep,
    counters,
    get size() {
      return sessions.size;
    },
    async close() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
