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
   * last check (see {@link createCoherence} for when a check runs).
   */
  usable(): boolean;
}

/**
 * Session and user writes made through any SQLite store of this process. A check stays good for
 * the rest of its turn only while this is unchanged: another connection of this process can
 * write within the turn, another process cannot be heard of within it.
 */
let processWrites = 0;

/** Counts a session or user write (any connection), so the next cached read checks the file again. */
export function noteWrite(): void {
  processWrites++;
}

/**
 * The coherence of one connection's caches.
 *
 * One check per turn of the event loop: a request reads its session, then its user, in one turn
 * (a callback and the microtasks it sets off; SQLite answers synchronously), so the session's
 * check covers the user's read too. The check is forgotten when the turn's microtasks are done
 * (a microtask queues a tick, and ticks run after the microtask queue is empty), before Node runs
 * the next callback. A change another process made is known to this one only through I/O — a
 * socket, a child's exit — whose callback is a later turn: the read of any request that starts
 * after the change was acknowledged checks the file again and sees it.
 */
export function createCoherence(db: Database.Database, maxEntries: number): SqliteCoherence | null {
  if (maxEntries === 0) return null;
  const dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  const caches: ReadCache<unknown>[] = [];
  let seen = dataVersion.get();
  let checkedThisTurn = false;
  let writesAtCheck = 0;
  const endTurn = (): void => {
    checkedThisTurn = false;
  };
  const endTurnAfterMicrotasks = (): void => {
    process.nextTick(endTurn);
  };
  return {
    cache<V>() {
      const cache = createReadCache<V>(maxEntries);
      caches.push(cache as ReadCache<unknown>);
      return cache;
    },
    usable() {
      if (db.inTransaction) return false;
      if (checkedThisTurn && writesAtCheck === processWrites) return true;
      const version = dataVersion.get();
      if (version !== seen) {
        seen = version;
        for (const cache of caches) cache.clear();
      }
      writesAtCheck = processWrites;
      if (!checkedThisTurn) {
        checkedThisTurn = true;
        queueMicrotask(endTurnAfterMicrotasks);
      }
      return true;
    },
  };
}
