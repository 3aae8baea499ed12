import type Database from 'better-sqlite3';
import type { CounterStore } from '../../auth/types.js';
import { guardedSync } from '../errors.js';

/** The SQLite counter store, with the batched sweep of ended windows. */
export interface SqliteCounterStore extends CounterStore {
  /** Deletes up to `limit` counters whose window has ended at `now`; returns how many. */
  sweep(now: number, limit: number): Promise<number>;
}

/**
 * Fixed-window throttling counters (`counters` table), with Redis `INCR` + `EXPIRE`-on-first
 * semantics. A window has ended when `now >= reset_at`.
 */
export function createSqliteCounters(db: Database.Database): SqliteCounterStore {
  // One upsert, so concurrent increments from several processes each count exactly once.
  // In DO UPDATE both CASEs read the old row, so count and reset_at restart together.
  const increment = db
    .prepare<[{ key: string; now: number; windowMs: number }], [number, number]>(
      `INSERT INTO counters (key, count, reset_at) VALUES (@key, 1, @now + @windowMs)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN reset_at <= @now THEN 1 ELSE count + 1 END,
         reset_at = CASE WHEN reset_at <= @now THEN excluded.reset_at ELSE reset_at END
       RETURNING count, reset_at`,
    )
    .raw();
  const get = db
    .prepare<[string, number], [number, number]>(
      'SELECT count, reset_at FROM counters WHERE key = ? AND reset_at > ?',
    )
    .raw();
  const reset = db.prepare<[string]>('DELETE FROM counters WHERE key = ?');
  const sweep = db.prepare<[number, number]>(
    'DELETE FROM counters WHERE rowid IN (SELECT rowid FROM counters WHERE reset_at <= ? LIMIT ?)',
  );

  return guardedSync<SqliteCounterStore>(
    {
      increment(key, windowMs, now) {
        const [count, resetAt] = increment.get({ key, now, windowMs })!;
        return { count, resetAt };
      },

      get(key, now) {
        const row = get.get(key, now);
        return row === undefined ? null : { count: row[0], resetAt: row[1] };
      },

      reset(key) {
        reset.run(key);
      },

      sweep(now, limit) {
        return sweep.run(now, limit).changes;
      },
    },
    { driver: 'sqlite', store: 'counter' },
  );
}
