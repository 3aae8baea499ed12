import type { Clock } from '../../core/clock.js';

/** How many rows one full sweep removed. */
export interface SweepResult {
  sessions: number;
  counters: number;
}

interface Batched {
  sweep(now: number, limit: number): Promise<number>;
}

interface SweeperOptions {
  sessions: Batched;
  counters: Batched;
  clock: Clock;
  batch: number;
  isClosed: () => boolean;
}

// better-sqlite3 is synchronous: one big DELETE would hold the event loop (and the write
// lock) for as long as it takes. setImmediate lets queued requests run between batches.
const yieldToRequests = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function drain(target: Batched, now: number, batch: number, isClosed: () => boolean): Promise<number> {
  let total = 0;
  while (!isClosed()) {
    const removed = await target.sweep(now, batch);
    total += removed;
    if (removed < batch) break;
    await yieldToRequests();
  }
  return total;
}

/**
 * The full sweep, batch by batch. A run that starts while another is going joins it instead
 * of deleting the same rows twice over (a slow sweep can outlast the timer interval).
 */
export function createSweeper(options: SweeperOptions): { run(): Promise<SweepResult> } {
  let running: Promise<SweepResult> | undefined;
  const sweepOnce = async (): Promise<SweepResult> => {
    // One `now` for the whole run, so the batches agree on what "expired" means.
    const now = options.clock.now();
    const sessions = await drain(options.sessions, now, options.batch, options.isClosed);
    const counters = await drain(options.counters, now, options.batch, options.isClosed);
    return { sessions, counters };
  };
  return {
    run() {
      running ??= sweepOnce().finally(() => {
        running = undefined;
      });
      return running;
    },
  };
}
