import type Database from 'better-sqlite3';
import { usernameSkeleton } from '../../auth/usernames.js';
import { StoreError } from '../../core/errors.js';
import { backfillUsernameKeys } from './username-keys.js';

/**
 * The schema, one SQL script per version: `MIGRATIONS[i]` takes `PRAGMA user_version` from
 * `i` to `i + 1`. Append only — a shipped script never changes, or databases already past
 * it would silently differ from new ones.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    idle_timeout_ms INTEGER NOT NULL,
    remember INTEGER NOT NULL CHECK (remember IN (0, 1)),
    csrf_secret TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    data TEXT NOT NULL DEFAULT '{}',
    -- Generated, not written by the code: it can never disagree with the two deadlines,
    -- and the sweep finds expired rows through its index instead of scanning.
    expires_at INTEGER GENERATED ALWAYS AS (min(idle_expires_at, absolute_expires_at)) STORED
  );
  CREATE INDEX sessions_user_id ON sessions (user_id);
  CREATE INDEX sessions_expires_at ON sessions (expires_at);

  CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL DEFAULT '[]',
    locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );

  CREATE TABLE counters (
    key TEXT PRIMARY KEY NOT NULL,
    count INTEGER NOT NULL,
    reset_at INTEGER NOT NULL
  );
  CREATE INDEX counters_reset_at ON counters (reset_at);
  `,
  `
  -- Credential epochs: rows from before read as 0, the epoch of a user nothing has advanced.
  ALTER TABLE sessions ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE users ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
  -- The username's confusable skeleton, unique like the username. Nullable: migrate() fills
  -- it for existing rows in JavaScript after this script, and a user whose skeleton an earlier
  -- user already holds keeps NULL (a UNIQUE index admits any number of NULLs).
  ALTER TABLE users ADD COLUMN username_key TEXT;
  CREATE UNIQUE INDEX users_username_key ON users (username_key);
  `,
  `
  -- How and when the user last proved a factor. A session row from before has neither: its
  -- authenticated_at stays NULL and reads as its created_at (a column default cannot name
  -- another column), its methods read as the empty JSON array.
  ALTER TABLE sessions ADD COLUMN authenticated_at INTEGER;
  ALTER TABLE sessions ADD COLUMN methods TEXT NOT NULL DEFAULT '[]';
  -- The second-factor document, opaque JSON text kept exactly; NULL for none (every user
  -- from before).
  ALTER TABLE users ADD COLUMN second_factor TEXT;
  `,
  `
  -- The device key a session is bound to (Device Bound Session Credentials), as the canonical
  -- text of encodeBinding(), compared and set as that text by bind(); NULL for none (every
  -- session from before, and every one until a browser registers a key).
  ALTER TABLE sessions ADD COLUMN binding TEXT;
  `,
];

const userVersion = (db: Database.Database): number => db.pragma('user_version', { simple: true }) as number;

/**
 * Brings the schema up to date, then gives a key to every user row that lacks one (see
 * {@link backfillUsernameKeys}). Safe to call on every start and from several processes at
 * once: the version is re-read inside a `BEGIN IMMEDIATE` transaction (which takes the write
 * lock up front, waiting out `busy_timeout`), so only one process applies each script and the
 * others see the new version. An up-to-date, backfilled database is only read, so a read-only
 * connection to it opens fine.
 * @returns the schema version now in place
 */
export function migrate(db: Database.Database): number {
  const target = MIGRATIONS.length;
  if (userVersion(db) !== target) applyScripts(db, target);
  backfillUsernameKeys(db, usernameSkeleton);
  return target;
}

function applyScripts(db: Database.Database, target: number): void {
  db.transaction(() => {
    const current = userVersion(db);
    if (current > target) {
      throw new StoreError(
        `sqlite store: the database has schema version ${current}, newer than this cloakroom (${target}); upgrade cloakroom`,
      );
    }
    for (let version = current; version < target; version++) db.exec(MIGRATIONS[version]!);
    // PRAGMA takes no bound parameters; `target` is our own integer.
    db.pragma(`user_version = ${target}`);
  }).immediate();
}
