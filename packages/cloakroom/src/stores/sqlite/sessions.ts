import type Database from 'better-sqlite3';
import type { Clock } from '../../core/clock.js';
import {
  decodeBinding,
  encodeBinding,
  type JsonValue,
  type SessionBinding,
  type SessionRecord,
  type SessionStore,
} from '../../core/store.js';
import { guardedSync } from '../errors.js';
import type { ReadCacheStats } from '../read-cache.js';
import { noteWrite, type SqliteCoherence } from './coherence.js';

/** The SQLite session store, with a sweep that takes a batch size. */
export interface SqliteSessionStore extends SessionStore {
  /** Deletes up to `limit` rows expired at `now` (one indexed batch); returns how many. */
  sweep(now: number, limit: number): Promise<number>;
  ping(): Promise<void>;
  bind(id: string, expected: SessionBinding | null, next: SessionBinding): Promise<boolean>;
  /** What the read cache did, or `null` when it is off. */
  cacheStats(): ReadCacheStats | null;
}

// Column order shared by every SELECT below; rows are read with `.raw()` as tuples, which
// skips building an object per row on the per-request path. A row from before schema version 3
// has no authenticated_at (NULL): it reads as its created_at, in the same statement. One from
// before version 4 has no binding (NULL): it reads as unbound.
const COLUMNS = `user_id, created_at, last_seen_at, idle_expires_at, absolute_expires_at,
  idle_timeout_ms, remember, epoch, coalesce(authenticated_at, created_at), methods, csrf_secret, ip,
  user_agent, data, binding`;

type Row = [
  userId: string,
  createdAt: number,
  lastSeenAt: number,
  idleExpiresAt: number,
  absoluteExpiresAt: number,
  idleTimeoutMs: number,
  remember: number,
  epoch: number,
  authenticatedAt: number,
  /** JSON array text. */
  methods: string,
  csrfSecret: string,
  ip: string | null,
  userAgent: string | null,
  data: string,
  /** encodeBinding() text, or NULL for none. */
  binding: string | null,
];

const toRecord = (id: string, row: Row): SessionRecord => ({
  id,
  userId: row[0],
  createdAt: row[1],
  lastSeenAt: row[2],
  idleExpiresAt: row[3],
  absoluteExpiresAt: row[4],
  idleTimeoutMs: row[5],
  remember: row[6] === 1,
  epoch: row[7],
  authenticatedAt: row[8],
  // Parsed per read, so a cached row still hands every caller an array of its own.
  methods: row[9] === '[]' ? [] : (JSON.parse(row[9]) as string[]),
  csrfSecret: row[10],
  ip: row[11],
  userAgent: row[12],
  data: JSON.parse(row[13]) as Record<string, JsonValue>,
  // Decoded per read too: each caller gets a binding of its own.
  binding: decodeBinding(row[14]),
});

// The JSON text of one json_each() element. Booleans come out of json_each as 1/0 and
// objects lose their JSON subtype when passed through a subquery, so the type column is
// used to rebuild exact JSON text, and json() re-marks it as JSON inside the aggregate.
const elementJson = (alias: string): string => `CASE ${alias}.type
  WHEN 'object' THEN ${alias}.value WHEN 'array' THEN ${alias}.value
  WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'
  ELSE json_quote(${alias}.value) END`;

/*
 * Per-key data change in ONE statement, so the merge happens inside SQLite's write lock and
 * two requests changing different keys never lose each other's change (no read-modify-write
 * in JavaScript). Why not the obvious alternatives:
 * - json_patch (RFC 7396) deletes a key whose patch value is null and deep-merges nested
 *   objects, so `set: { a: null }` would delete `a` and `set: { prefs: {...} }` would keep
 *   stale sub-keys. `set` must write the value as given.
 * - json_set/json_remove take paths, and a path cannot name every key (a key containing `"`
 *   has no path syntax in SQLite), and the number of paths varies per call.
 * So the new object is rebuilt from (old keys not set or removed) + (set keys not removed):
 * keys are plain values here, never parsed as paths. A key both set and removed ends up
 * removed, as in the memory store. Known limit: a string holding a lone UTF-16 surrogate
 * does not survive SQLite's JSON functions (it is not valid Unicode text to begin with).
 */
const UPDATE_DATA = `UPDATE sessions SET data = (
  SELECT json_group_object(k, json(v)) FROM (
    SELECT cur.key AS k, ${elementJson('cur')} AS v FROM json_each(sessions.data) AS cur
      WHERE cur.key NOT IN (SELECT key FROM json_each(@set))
        AND cur.key NOT IN (SELECT value FROM json_each(@remove))
    UNION ALL
    SELECT nxt.key, ${elementJson('nxt')} FROM json_each(@set) AS nxt
      WHERE nxt.key NOT IN (SELECT value FROM json_each(@remove))
  )
) WHERE id = @id AND expires_at > @now`;

/**
 * Sessions in the `sessions` table. Every statement is prepared here, once; each method is
 * one statement, so no method needs a transaction. `clock` says when a row is expired: writes
 * leave an expired row alone until the sweep removes it, as every store does.
 */
export function createSqliteSessions(
  db: Database.Database,
  clock: Clock,
  coherence: SqliteCoherence | null = null,
): SqliteSessionStore {
  const get = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM sessions WHERE id = ?`).raw();
  // Rows as read, by id; a hit is rebuilt by toRecord like a read, so every caller gets its own copy.
  const cache = coherence?.cache<Row>() ?? null;
  const listByUser = db
    .prepare<[string, number], [string, ...Row]>(
      `SELECT id, ${COLUMNS} FROM sessions WHERE user_id = ? AND expires_at > ?`,
    )
    .raw();
  const insert = db.prepare(
    `INSERT INTO sessions (id, user_id, created_at, last_seen_at, idle_expires_at, absolute_expires_at,
      idle_timeout_ms, remember, epoch, authenticated_at, methods, csrf_secret, ip, user_agent, data, binding)
     VALUES (@id, @userId, @createdAt, @lastSeenAt, @idleExpiresAt, @absoluteExpiresAt,
      @idleTimeoutMs, @remember, @epoch, @authenticatedAt, @methods, @csrfSecret, @ip, @userAgent, @data,
      @binding)`,
  );
  // max() makes the deadlines monotonic under out-of-order requests, and an UPDATE of a
  // missing row changes nothing: touch can never resurrect a deleted session. `expires_at > now`
  // does the same for a row that is expired but not yet swept: it is never extended.
  const touch = db.prepare<[number, number, string, number]>(
    `UPDATE sessions SET last_seen_at = max(last_seen_at, ?), idle_expires_at = max(idle_expires_at, ?)
     WHERE id = ? AND expires_at > ?`,
  );
  const updateData = db.prepare<[{ id: string; set: string; remove: string; now: number }]>(UPDATE_DATA);
  // Compare-and-set in one statement: the WHERE is checked under the write lock, so of many
  // binds with the same `expected` (any connection, any process) exactly one still finds it.
  // `IS` compares NULL (unbound) as a value; the texts are canonical, so equal bindings are
  // equal text. The liveness rule is updateData's.
  const bind = db.prepare<[{ id: string; expected: string | null; next: string; now: number }]>(
    'UPDATE sessions SET binding = @next WHERE id = @id AND expires_at > @now AND binding IS @expected',
  );
  const remove = db.prepare<[string]>('DELETE FROM sessions WHERE id = ?');
  // `id IS NOT NULL` (no exception) is always true, so one statement serves both cases. Expired
  // rows go too, but only the live ones count as revoked: RETURNING tells them apart.
  const removeByUser = db
    .prepare<[string, string | null], number>(
      'DELETE FROM sessions WHERE user_id = ? AND id IS NOT ? RETURNING expires_at',
    )
    .pluck();
  // LIMIT keeps each batch (and the write lock it holds) short; the expires_at index makes
  // finding the batch a range search, and rowid is the cheapest key to hand to the DELETE.
  const sweep = db.prepare<[number, number]>(
    `DELETE FROM sessions WHERE rowid IN
       (SELECT rowid FROM sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
  );
  const ping = db.prepare('SELECT 1').pluck();

  // Plain synchronous methods: guardedSync() makes each the async method of the interface and
  // turns a driver error into a StoreError, so a call costs one promise and one try/catch, as
  // an `async` method with a try/catch of its own would.
  const store = guardedSync<Omit<SqliteSessionStore, 'cacheStats'>>(
    {
      get(id) {
        if (cache === null) {
          const row = get.get(id);
          return row === undefined ? null : toRecord(id, row);
        }
        if (!coherence!.usable()) {
          cache.miss();
          const row = get.get(id);
          return row === undefined ? null : toRecord(id, row);
        }
        const cached = cache.get(id);
        if (cached !== undefined) return toRecord(id, cached);
        const row = get.get(id);
        if (row === undefined) return null;
        cache.set(id, row);
        return toRecord(id, row);
      },

      create(record) {
        noteWrite();
        insert.run({
          ...record,
          remember: record.remember ? 1 : 0,
          // JSON, not a joined list: a method name is opaque here, commas and all.
          methods: JSON.stringify(record.methods),
          data: JSON.stringify(record.data),
          // A record from a caller that predates the field (no binding at all) is unbound.
          binding: record.binding ? encodeBinding(record.binding) : null,
        });
      },

      // Each write drops the rows it changes from the cache first: should the statement fail after
      // changing the row, the next read goes to the file.
      touch(id, lastSeenAt, idleExpiresAt) {
        cache?.delete(id);
        noteWrite();
        return touch.run(lastSeenAt, idleExpiresAt, id, clock.now()).changes > 0;
      },

      updateData(id, change) {
        cache?.delete(id);
        noteWrite();
        const set = JSON.stringify(change.set ?? {});
        const removed = JSON.stringify(change.remove ?? []);
        return updateData.run({ id, set, remove: removed, now: clock.now() }).changes > 0;
      },

      bind(id, expected, next) {
        cache?.delete(id);
        noteWrite();
        const values = {
          id,
          expected: expected === null ? null : encodeBinding(expected),
          next: encodeBinding(next),
          now: clock.now(),
        };
        return bind.run(values).changes > 0;
      },

      delete(id) {
        cache?.delete(id);
        noteWrite();
        return remove.run(id).changes > 0;
      },

      deleteByUser(userId, exceptId) {
        cache?.deleteWhere((row) => row[0] === userId);
        noteWrite();
        const now = clock.now();
        return removeByUser.all(userId, exceptId ?? null).filter((expiresAt) => expiresAt > now).length;
      },

      listByUser(userId, now) {
        return listByUser.all(userId, now).map(([id, ...row]) => toRecord(id, row));
      },

      // Swept rows were expired, and a cached expired row is refused by its deadlines; they leave
      // the cache as it turns over.
      sweep(now, limit) {
        return sweep.run(now, limit).changes;
      },

      ping() {
        ping.get();
      },
    },
    { driver: 'sqlite', store: 'session', creates: { create: 'a session with this id' } },
  );
  // Added after guardedSync, which would make it async.
  return Object.assign(store, { cacheStats: () => cache?.stats() ?? null });
}
