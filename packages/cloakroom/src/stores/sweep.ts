import type { Clock } from '../core/clock.js';
import type { StoreError } from '../core/errors.js';
import { type Driver, storeFailure } from './errors.js';

/** How many rows one full sweep removed. */
export interface SweepResult {
  sessions: number;
  counters: number;
}

interface Batched {
  /** Deletes up to `limit` rows expired at `now`; returns how many. */
  sweep(now: number, limit: number): Promise<number>;
}

/** Options of {@link createSweeper}. */
export interface SweeperOptions {
  /** Named in the error of a failed timed sweep: `sqlite store: sweep failed`. */
  driver: Driver;
  sessions: Batched;
  counters: Batched;
  clock: Clock;
  /** Rows per statement. */
  batch: number;
  /** How often the timer sweeps, in ms; `0` starts no timer. */
  intervalMs: number;
  /** Told about a failed timed sweep (a timer has nobody to throw to). */
  onError?: ((error: StoreError) => void) | undefined;
  /**
   * Let queued requests run between batches. better-sqlite3 is synchronous: batch after batch
   * would hold the event loop (and the write lock) for the whole sweep, so it yields with
   * `setImmediate`. A network driver's await already frees the loop.
   */
  yieldBetweenBatches?: boolean;
}

/** A store's sweep of expired sessions and ended counter windows, by hand and on a timer. */
export interface Sweeper {
  /** Runs a full sweep now, or joins the one under way. */
  run(): Promise<SweepResult>;
  /** Stops the timer; a sweep under way stops after its current batch, and later runs do nothing. */
  stop(): void;
}

const yieldToRequests = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The full sweep in batches, not one DELETE of everything expired: each statement holds its
 * locks (and, in PostgreSQL, its WAL) for a moment only, so a sweep after a long outage never
 * stalls sign-ins behind it. A run that starts while another is going joins it instead of
 * deleting the same rows twice over (a slow sweep can outlast the timer interval). The timer is
 * `unref()`'d: housekeeping must never be what keeps a process alive.
 */
export function createSweeper(options: SweeperOptions): Sweeper {
  const { sessions, counters, clock, batch } = options;
  let stopped = false;
  let running: Promise<SweepResult> | undefined;

  const drain = async (target: Batched, now: number): Promise<number> => {
    let total = 0;
    while (!stopped) {
      const removed = await target.sweep(now, batch);
      total += removed;
      if (removed < batch) break;
      if (options.yieldBetweenBatches === true) await yieldToRequests();
    }
    return total;
  };

  const sweepOnce = async (): Promise<SweepResult> => {
    // One `now` for the whole run, so the batches agree on what "expired" means.
    const now = clock.now();
    return { sessions: await drain(sessions, now), counters: await drain(counters, now) };
  };

  const run = (): Promise<SweepResult> => {
    running ??= sweepOnce().finally(() => {
      running = undefined;
    });
    return running;
  };

  let timer: NodeJS.Timeout | undefined;
  if (options.intervalMs > 0) {
    timer = setInterval(() => {
      run().catch((error: unknown) => options.onError?.(storeFailure(options.driver, 'sweep', error)));
    }, options.intervalMs);
    timer.unref();
  }

  return {
    run,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
