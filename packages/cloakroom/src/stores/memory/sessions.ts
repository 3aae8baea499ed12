import type { Clock } from '../../core/clock.js';
import { StoreError } from '../../core/errors.js';
import {
  type DataChange,
  encodeBinding,
  type SessionBinding,
  type SessionRecord,
  type SessionStore,
} from '../../core/store.js';
import { canonicalBinding, copyRecord, setOwn } from './copy.js';
import { ExpiryHeap, type HeapEntry } from './expiry-heap.js';

/** The session half of the memory store, with what the bound and the sweep need. */
export interface MemorySessions extends SessionStore {
  /** How many records are held right now (expired but unswept ones included). */
  readonly size: number;
  /** Removes up to `limit` records expired at `now`, nearest deadline first; returns how many. */
  sweep(now: number, limit?: number): Promise<number>;
  bind(id: string, expected: SessionBinding | null, next: SessionBinding): Promise<boolean>;
}

const expiryOf = (record: SessionRecord): number => Math.min(record.idleExpiresAt, record.absoluteExpiresAt);

/**
 * Sessions in a `Map`, bounded to `maxSessions`. Creating a session while full evicts the
 * record nearest to its deadline (an already expired one first): that is the session with
 * the least useful life left, and the choice costs O(log n) through the expiry heap.
 */
export function createMemorySessions(clock: Clock, maxSessions: number): MemorySessions {
  const records = new Map<string, SessionRecord>();
  const byUser = new Map<string, Set<string>>();
  const heap = new ExpiryHeap();

  const remove = (id: string): boolean => {
    const record = records.get(id);
    if (record === undefined) return false;
    records.delete(id);
    const ids = byUser.get(record.userId);
    ids?.delete(id);
    // Drop empty sets so a user who signed out everywhere costs nothing.
    if (ids?.size === 0) byUser.delete(record.userId);
    return true;
  };

  // Expired records are dropped when touched or changed: a write never revives a dead session.
  const live = (id: string): SessionRecord | undefined => {
    const record = records.get(id);
    if (record === undefined) return undefined;
    if (clock.now() < expiryOf(record)) return record;
    remove(id);
    return undefined;
  };

  // A heap entry is stale once its record is gone or its deadline has moved on (touch).
  const isCurrent = (entry: HeapEntry): boolean => {
    const record = records.get(entry.id);
    return record !== undefined && expiryOf(record) === entry.at;
  };

  const nearest = (): HeapEntry | undefined => {
    for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
      if (isCurrent(top)) return top;
      heap.pop();
    }
    return undefined;
  };

  const track = (record: SessionRecord): void => {
    heap.push(expiryOf(record), record.id);
    // Touches leave stale entries behind; rebuild before they outnumber the records.
    if (heap.length > 2 * records.size + 1024) {
      heap.rebuild([...records.values()].map((r) => ({ at: expiryOf(r), id: r.id })));
    }
  };

  return {
    get size() {
      return records.size;
    },

    async get(id) {
      // An expired record is still returned: the core checks the deadlines, answers with the
      // precise reason (idle or absolute timeout) and deletes it. The sweep catches the rest.
      const record = records.get(id);
      return record === undefined ? null : copyRecord(record);
    },

    async create(record) {
      // live(): an expired record under this id is dropped, as on any other access.
      if (live(record.id) !== undefined) {
        throw new StoreError('session store: create failed: a session with this id exists', {
          code: 'conflict',
        });
      }
      if (records.size >= maxSessions) {
        const victim = nearest();
        if (victim !== undefined) remove(victim.id);
      }
      // The binding as the other stores keep it (the fields of its canonical text), so that
      // copyRecord's shallow copy of it is a whole one.
      const stored = { ...copyRecord(record), binding: canonicalBinding(record.binding) };
      records.set(stored.id, stored);
      let ids = byUser.get(stored.userId);
      if (ids === undefined) {
        ids = new Set();
        byUser.set(stored.userId, ids);
      }
      ids.add(stored.id);
      track(stored);
    },

    async touch(id, lastSeenAt, idleExpiresAt) {
      const record = live(id);
      if (record === undefined) return false;
      const before = expiryOf(record);
      // max(): two requests finishing out of order must not pull the deadline back.
      record.lastSeenAt = Math.max(record.lastSeenAt, lastSeenAt);
      record.idleExpiresAt = Math.max(record.idleExpiresAt, idleExpiresAt);
      if (expiryOf(record) !== before) track(record);
      return true;
    },

    async updateData(id, change: DataChange) {
      const record = live(id);
      if (record === undefined) return false;
      for (const [key, value] of Object.entries(change.set ?? {})) {
        setOwn(record.data, key, structuredClone(value));
      }
      // Removals after sets: a key named in both ends up removed (the SQLite store agrees).
      for (const key of change.remove ?? []) Reflect.deleteProperty(record.data, key);
      return true;
    },

    // Check and set in one synchronous step: no other call runs between them, so of parallel
    // binds with the same `expected` exactly one finds it still there.
    async bind(id, expected, next) {
      const record = live(id);
      if (record === undefined) return false;
      const current = record.binding === null ? null : encodeBinding(record.binding);
      if (current !== (expected === null ? null : encodeBinding(expected))) return false;
      record.binding = canonicalBinding(next);
      return true;
    },

    async delete(id) {
      return remove(id);
    },

    async deleteByUser(userId, exceptId) {
      // Copy first: remove() edits the very set being iterated. Expired records go too, but
      // only live ones count as revoked (`{revoked: n}` reports sessions that were usable).
      const ids = [...(byUser.get(userId) ?? [])].filter((id) => id !== exceptId);
      const now = clock.now();
      let live = 0;
      for (const id of ids) {
        const record = records.get(id);
        if (record !== undefined && now < expiryOf(record)) live++;
        remove(id);
      }
      return live;
    },

    async listByUser(userId, now) {
      const result: SessionRecord[] = [];
      for (const id of byUser.get(userId) ?? []) {
        const record = records.get(id);
        if (record !== undefined && now < expiryOf(record)) result.push(copyRecord(record));
      }
      return result;
    },

    async sweep(now, limit = Number.POSITIVE_INFINITY) {
      let removed = 0;
      for (let top = nearest(); top !== undefined && top.at <= now && removed < limit; top = nearest()) {
        heap.pop();
        remove(top.id);
        removed++;
      }
      return removed;
    },
  };
}
