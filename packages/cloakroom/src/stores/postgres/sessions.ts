import type { Clock } from '../../core/clock.js';
import {
  decodeBinding,
  encodeBinding,
  type JsonValue,
  type SessionBinding,
  type SessionRecord,
  type SessionStore,
} from '../../core/store.js';
import { guarded } from '../errors.js';
import { execute, int, type PgPoolLike, statement } from './client.js';
import type { Tables } from './tables.js';

/** The PostgreSQL session store, with a sweep that takes a batch size. */
export interface PostgresSessionStore extends SessionStore {
  /** Deletes up to `limit` rows expired at `now` (one indexed batch); returns how many. */
  sweep(now: number, limit: number): Promise<number>;
  ping(): Promise<void>;
  bind(id: string, expected: SessionBinding | null, next: SessionBinding): Promise<boolean>;
}

// Column order shared by every SELECT below. A row from before schema version 4 has no
// authenticated_at (NULL): it reads as its created_at, in the same statement. One from before
// version 5 has no binding (NULL): it reads as unbound.
const COLUMNS = `user_id, created_at, last_seen_at, idle_expires_at, absolute_expires_at,
  idle_timeout_ms, remember, epoch, COALESCE(authenticated_at, created_at) AS authenticated_at, methods,
  csrf_secret, ip, user_agent, data, binding`;

interface Row {
  id?: string;
  user_id: string;
  created_at: string;
  last_seen_at: string;
  idle_expires_at: string;
  absolute_expires_at: string;
  idle_timeout_ms: string;
  remember: boolean;
  epoch: string;
  authenticated_at: string;
  methods: string[];
  csrf_secret: string;
  ip: string | null;
  user_agent: string | null;
  data: Record<string, JsonValue>;
  /** encodeBinding() text, or NULL for none. */
  binding: string | null;
}

// pg parses jsonb with JSON.parse, which keeps a `__proto__` key an own property, and hands
// back a fresh object (and a fresh methods array) per query: nothing the caller mutates
// reaches the store.
const toRecord = (id: string, row: Row): SessionRecord => ({
  id,
  userId: row.user_id,
  createdAt: int(row.created_at),
  lastSeenAt: int(row.last_seen_at),
  idleExpiresAt: int(row.idle_expires_at),
  absoluteExpiresAt: int(row.absolute_expires_at),
  idleTimeoutMs: int(row.idle_timeout_ms),
  remember: row.remember,
  epoch: int(row.epoch),
  authenticatedAt: int(row.authenticated_at),
  methods: row.methods,
  csrfSecret: row.csrf_secret,
  ip: row.ip,
  userAgent: row.user_agent,
  data: row.data,
  binding: decodeBinding(row.binding),
});

/**
 * Sessions in `cloakroom_sessions`. Each method is ONE statement (no transaction, no
 * read-modify-write in JavaScript); each statement is named, so pg prepares it once per
 * pooled connection. `clock` says when a row is expired: writes leave an expired row alone
 * until the sweep removes it, as every store does.
 */
export function createPostgresSessions(pool: PgPoolLike, tables: Tables, clock: Clock): PostgresSessionStore {
  const t = tables.sessions;
  const get = statement(`SELECT ${COLUMNS} FROM ${t} WHERE id = $1`);
  const insert = statement(
    `INSERT INTO ${t} (id, user_id, created_at, last_seen_at, idle_expires_at, absolute_expires_at,
      idle_timeout_ms, remember, epoch, authenticated_at, methods, csrf_secret, ip, user_agent, data, binding)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::text[], $12, $13, $14, $15::jsonb, $16::text)`,
  );
  // GREATEST keeps both deadlines monotonic under out-of-order requests, and an UPDATE of a
  // missing row changes nothing: a touch never resurrects a deleted session. `expires_at > now`
  // does the same for a row that is expired but not yet swept: it is never extended.
  const touch = statement(
    `UPDATE ${t} SET last_seen_at = GREATEST(last_seen_at, $2), idle_expires_at = GREATEST(idle_expires_at, $3)
     WHERE id = $1 AND expires_at > $4`,
  );
  // Key by key inside PostgreSQL: `||` replaces top-level keys whole (no deep merge, null
  // stays null), `- text[]` removes keys, taken literally (never paths). Removal comes last,
  // so a key both set and removed ends up removed. The row lock serialises concurrent
  // changes, and each UPDATE re-reads the row it waited for: no change is ever lost.
  const updateData = statement(
    `UPDATE ${t} SET data = (data || $2::jsonb) - $3::text[] WHERE id = $1 AND expires_at > $4`,
  );
  // Compare-and-set in one statement. Parallel binds of one row queue on its row lock, and each
  // re-checks the WHERE against the row as the one before it left it (READ COMMITTED), so of
  // many with the same `expected` exactly one still finds it. IS NOT DISTINCT FROM compares NULL
  // (unbound) as a value; the texts are canonical, so equal bindings are equal text. The
  // liveness rule is updateData's.
  const bind = statement(
    `UPDATE ${t} SET binding = $3::text
     WHERE id = $1 AND expires_at > $4 AND binding IS NOT DISTINCT FROM $2::text`,
  );
  const remove = statement(`DELETE FROM ${t} WHERE id = $1`);
  // Expired rows go too, but only the live ones count as revoked.
  const removeByUser = statement(
    `WITH gone AS (DELETE FROM ${t} WHERE user_id = $1 AND id IS DISTINCT FROM $2::text RETURNING expires_at)
     SELECT count(*) FILTER (WHERE expires_at > $3) AS live FROM gone`,
  );
  const listByUser = statement(`SELECT id, ${COLUMNS} FROM ${t} WHERE user_id = $1 AND expires_at > $2`);
  // A small batch through the expires_at index; SKIP LOCKED lets the sweeps of several
  // instances take different rows instead of queueing behind each other.
  const sweep = statement(
    `DELETE FROM ${t} WHERE id IN
       (SELECT id FROM ${t} WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  );

  return guarded<PostgresSessionStore>(
    {
      async get(id) {
        const { rows } = await execute(pool, get, [id]);
        const row = rows[0] as Row | undefined;
        return row === undefined ? null : toRecord(id, row);
      },

      async create(record) {
        await execute(pool, insert, [
          record.id,
          record.userId,
          record.createdAt,
          record.lastSeenAt,
          record.idleExpiresAt,
          record.absoluteExpiresAt,
          record.idleTimeoutMs,
          record.remember,
          record.epoch,
          record.authenticatedAt,
          // An array, not a joined string: pg quotes each element, commas and all.
          record.methods,
          record.csrfSecret,
          record.ip,
          record.userAgent,
          JSON.stringify(record.data),
          // A record from a caller that predates the field (no binding at all) is unbound.
          record.binding ? encodeBinding(record.binding) : null,
        ]);
      },

      async touch(id, lastSeenAt, idleExpiresAt) {
        const values = [id, lastSeenAt, idleExpiresAt, clock.now()];
        return ((await execute(pool, touch, values)).rowCount ?? 0) > 0;
      },

      async updateData(id, change) {
        const values = [id, JSON.stringify(change.set ?? {}), change.remove ?? [], clock.now()];
        return ((await execute(pool, updateData, values)).rowCount ?? 0) > 0;
      },

      async bind(id, expected, next) {
        const values = [
          id,
          expected === null ? null : encodeBinding(expected),
          encodeBinding(next),
          clock.now(),
        ];
        return ((await execute(pool, bind, values)).rowCount ?? 0) > 0;
      },

      async delete(id) {
        return ((await execute(pool, remove, [id])).rowCount ?? 0) > 0;
      },

      async deleteByUser(userId, exceptId) {
        const { rows } = await execute(pool, removeByUser, [userId, exceptId ?? null, clock.now()]);
        return int((rows[0] as { live: unknown } | undefined)?.live ?? 0);
      },

      async listByUser(userId, now) {
        const { rows } = await execute(pool, listByUser, [userId, now]);
        return (rows as Row[]).map((row) => toRecord(row.id!, row));
      },

      async sweep(now, limit) {
        return (await execute(pool, sweep, [now, limit])).rowCount ?? 0;
      },

      async ping() {
        await pool.query({ text: 'SELECT 1' });
      },
    },
    { driver: 'postgres', store: 'session', creates: { create: 'a session with this id' } },
  );
}
