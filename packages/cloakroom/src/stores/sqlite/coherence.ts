import type Database from 'better-sqlite3';
import { createReadCache, type ReadCache } from '../read-cache.js';

/**
 * Keeps the read caches of one SQLite connection true to the file. `PRAGMA data_version` changes
 * when another connection — the CLI, a second server, any process on the same file — commits a
 * change, so a read that starts after that commit sees a new value and drops every cached row
 * before it answers. Writes through this connection do not change it: each store method drops
 * the rows it writes itself.
 */
export interface SqliteCoherence {
  /** A cache of rows by id, dropped with the others when the file changes. */
  cache<V>(): ReadCache<V>;
  /**
   * Whether a read may use the cache now: never inside a transaction (a row read there may be
   * rolled back), and only after every cache was dropped if another connection wrote since the
   * last call. One `PRAGMA data_version` per call.
   */
  usable(): boolean;
}

export function createCoherence(db: Database.Database, maxEntries: number): SqliteCoherence | null {
  if (maxEntries === 0) return null;
  const dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  const caches: ReadCache<unknown>[] = [];
  let seen = dataVersion.get();
  return {
    cache<V>() {
      const cache = createReadCache<V>(maxEntries);
      caches.push(cache as ReadCache<unknown>);
      return cache;
    },
    usable() {
      if (db.inTransaction) return false;
      const version = dataVersion.get();
      if (version !== seen) {
        seen = version;
        for (const cache of caches) cache.clear();
      }
      return true;
    },
  };
}
