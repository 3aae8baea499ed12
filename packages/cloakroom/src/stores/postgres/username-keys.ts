import type { Queryable } from './client.js';
import type { Tables } from './tables.js';

/** The username → key function; `usernameSkeleton` in production. */
export type Skeleton = (username: string) => string;

interface Missing {
  id: string;
  username: string;
}

/**
 * The rows that may take their key now: for each key, only the earliest user (by
 * `created_at`, then id) asking for it, and only if no row holds that key already.
 */
async function fillable(client: Queryable, table: string, skeleton: Skeleton) {
  // The UNIQUE index on username_key finds the NULLs, so an up-to-date database pays one
  // index lookup here and nothing else.
  const { rows } = await client.query({
    text: `SELECT id, username FROM ${table} WHERE username_key IS NULL ORDER BY created_at, id`,
  });
  if (rows.length === 0) return [];
  const wanted = new Map<string, string>();
  for (const { id, username } of rows as Missing[]) {
    const key = skeleton(username);
    if (!wanted.has(key)) wanted.set(key, id);
  }
  const taken = await client.query({
    text: `SELECT username_key AS key FROM ${table} WHERE username_key = ANY($1::text[])`,
    values: [[...wanted.keys()]],
  });
  for (const { key } of taken.rows as Array<{ key: string }>) wanted.delete(key);
  return [...wanted].map(([key, id]) => ({ id, key }));
}

/**
 * Gives each user row without a `username_key` (rows written before the column existed) the
 * skeleton of its username. Two existing users whose names look alike cannot both hold one
 * key: the earlier keeps it and the later stays NULL, rather than start-up failing over
 * accounts that already exist. Runs at every start inside the migration's transaction (and
 * its advisory lock), and writes only when some row can actually take a key; the table lock
 * then keeps a user created by an instance already running from taking a key between the
 * check and the write (which would fail the start with a unique violation).
 * @returns how many rows got a key
 */
export async function backfillUsernameKeys(
  client: Queryable,
  tables: Tables,
  skeleton: Skeleton,
): Promise<number> {
  const t = tables.users;
  const rows = await fillable(client, t, skeleton);
  if (rows.length === 0) return 0;
  // SHARE ROW EXCLUSIVE: other sessions still read users, but their INSERTs and UPDATEs wait
  // until this transaction ends. Held for one statement's worth of work, once per upgrade.
  await client.query({ text: `LOCK TABLE ${t} IN SHARE ROW EXCLUSIVE MODE` });
  const result = await client.query({
    text: `UPDATE ${t} AS u SET username_key = f.key
      FROM unnest($1::text[], $2::text[]) AS f(id, key)
      WHERE u.id = f.id AND u.username_key IS NULL
        AND NOT EXISTS (SELECT 1 FROM ${t} AS o WHERE o.username_key = f.key)`,
    values: [rows.map((r) => r.id), rows.map((r) => r.key)],
  });
  return result.rowCount ?? 0;
}
