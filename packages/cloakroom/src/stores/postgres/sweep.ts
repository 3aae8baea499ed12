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

// Batches, not one DELETE of everything expired: each statement holds its row locks and its
// WAL for a moment only, so a sweep after a long outage never stalls sign-ins behind it.
async function drain(target: Batched, now: number, batch: number, isClosed: () => boolean): Promise<number> {
  let total = 0;
  while (!isClosed()) {
    const removed = await target.sweep(now, batch);
    total += removed;
    if (removed < batch) break;
  }
  return total;
}

/**
 * The full sweep, batch by batch. A run that starts while another is going joins it (a slow
 * sweep can outlast the timer interval); several instances sweeping at once take different
 * rows (SKIP LOCKED), so no coordination between them is needed.
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
