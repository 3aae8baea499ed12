import type Database from 'better-sqlite3';

/** The username → key function; `usernameSkeleton` in production. */
export type Skeleton = (username: string) => string;

/**
 * The rows that may take their key now: for each key, only the earliest user (by `created_at`,
 * then insertion order) asking for it, and only if no row holds that key already.
 */
function fillable(db: Database.Database, skeleton: Skeleton): Array<{ id: string; key: string }> {
  // The UNIQUE index on username_key finds the NULLs, so an up-to-date database pays one
  // index lookup here and nothing else.
  const missing = db
    .prepare<[], [string, string]>(
      'SELECT id, username FROM users WHERE username_key IS NULL ORDER BY created_at, rowid',
    )
    .raw()
    .all();
  if (missing.length === 0) return [];
  const taken = db.prepare<[string], number>('SELECT 1 FROM users WHERE username_key = ?').pluck();
  const claimed = new Set<string>();
  const result: Array<{ id: string; key: string }> = [];
  for (const [id, username] of missing) {
    const key = skeleton(username);
    if (claimed.has(key) || taken.get(key) !== undefined) continue;
    claimed.add(key);
    result.push({ id, key });
  }
  return result;
}

/**
 * Gives each user row without a `username_key` (rows written before the column existed) the
 * skeleton of its username. Two existing users whose names look alike cannot both hold one
 * key: the earlier keeps it and the later stays NULL, rather than start-up failing over
 * accounts that already exist. Runs at every open, so it writes only when some row can
 * actually take a key: a database where every fillable row is filled is only read (a
 * read-only connection opens fine), and the write happens in one `BEGIN IMMEDIATE`
 * transaction whose guarded UPDATEs make a second process backfilling at once a no-op.
 * @returns how many rows got a key
 */
export function backfillUsernameKeys(db: Database.Database, skeleton: Skeleton): number {
  const rows = fillable(db, skeleton);
  if (rows.length === 0) return 0;
  const fill = db.prepare<[{ id: string; key: string }]>(
    `UPDATE users SET username_key = @key
     WHERE id = @id AND username_key IS NULL
       AND NOT EXISTS (SELECT 1 FROM users WHERE username_key = @key)`,
  );
  return db.transaction(() => rows.reduce((filled, row) => filled + fill.run(row).changes, 0)).immediate();
}
