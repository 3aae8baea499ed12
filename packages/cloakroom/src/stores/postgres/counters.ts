import type { CounterStore } from '../../auth/types.js';
import { guarded } from '../errors.js';
import { execute, int, type PgPoolLike, statement } from './client.js';
import type { Tables } from './tables.js';

/** The PostgreSQL counter store, with the batched sweep of ended windows. */
export interface PostgresCounterStore extends CounterStore {
  /** Deletes up to `limit` counters whose window has ended at `now`; returns how many. */
  sweep(now: number, limit: number): Promise<number>;
}

/**
 * Fixed-window throttling counters (`cloakroom_counters`), with Redis `INCR` + `EXPIRE`-on-first
 * semantics. A window has ended when `now >= reset_at`.
 */
export function createPostgresCounters(pool: PgPoolLike, tables: Tables): PostgresCounterStore {
  const t = tables.counters;
  // One upsert: concurrent increments from every instance each count exactly once (the row
  // lock serialises them). In DO UPDATE both CASEs read the old row, so count and reset_at
  // restart together.
  const increment = statement(
    `INSERT INTO ${t} AS c (key, count, reset_at) VALUES ($1, 1, $2::bigint + $3::bigint)
     ON CONFLICT (key) DO UPDATE SET
       count = CASE WHEN c.reset_at <= $2::bigint THEN 1 ELSE c.count + 1 END,
       reset_at = CASE WHEN c.reset_at <= $2::bigint THEN excluded.reset_at ELSE c.reset_at END
     RETURNING count, reset_at`,
  );
  const get = statement(`SELECT count, reset_at FROM ${t} WHERE key = $1 AND reset_at > $2`);
  const reset = statement(`DELETE FROM ${t} WHERE key = $1`);
  const sweep = statement(
    `DELETE FROM ${t} WHERE key IN
       (SELECT key FROM ${t} WHERE reset_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  );

  type Row = { count: number; reset_at: string };
  const toState = (row: Row) => ({ count: row.count, resetAt: int(row.reset_at) });

  return guarded<PostgresCounterStore>(
    {
      async increment(key, windowMs, now) {
        const { rows } = await execute(pool, increment, [key, now, windowMs]);
        return toState(rows[0] as Row);
      },

      async get(key, now) {
        const row = (await execute(pool, get, [key, now])).rows[0] as Row | undefined;
        return row === undefined ? null : toState(row);
      },

      async reset(key) {
        await execute(pool, reset, [key]);
      },

      async sweep(now, limit) {
        return (await execute(pool, sweep, [now, limit])).rowCount ?? 0;
      },
    },
    { driver: 'postgres', store: 'counter' },
  );
}
