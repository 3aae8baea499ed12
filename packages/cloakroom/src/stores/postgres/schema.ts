import { usernameSkeleton } from '../../auth/usernames.js';
import { StoreError } from '../../core/errors.js';
import { guarded } from '../errors.js';
import { type PgPoolLike, type Queryable, transaction } from './client.js';
import { type Tables, tablesIn } from './tables.js';
import { backfillUsernameKeys } from './username-keys.js';

/**
 * The schema, one SQL script per version: `MIGRATIONS[i]` takes the database from version `i`
 * to `i + 1`. Append only — a shipped script never changes, or databases already past it would
 * silently differ from new ones. Names are unqualified: `migrate` runs each script with
 * `search_path` set to the store's schema.
 *
 * Times are BIGINT milliseconds since the epoch, like every other store: no `timestamptz`,
 * so no session or time-zone setting can shift a deadline.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE cloakroom_sessions (
    id text PRIMARY KEY,
    user_id text NOT NULL,
    created_at bigint NOT NULL,
    last_seen_at bigint NOT NULL,
    idle_expires_at bigint NOT NULL,
    absolute_expires_at bigint NOT NULL,
    idle_timeout_ms bigint NOT NULL,
    remember boolean NOT NULL,
    csrf_secret text NOT NULL,
    ip text,
    user_agent text,
    data jsonb NOT NULL DEFAULT '{}',
    -- Generated, never written by the code: it cannot disagree with the two deadlines, and
    -- the sweep and listByUser find expired rows through its index.
    expires_at bigint GENERATED ALWAYS AS (LEAST(idle_expires_at, absolute_expires_at)) STORED
  );
  CREATE INDEX cloakroom_sessions_user_id ON cloakroom_sessions (user_id, expires_at);
  CREATE INDEX cloakroom_sessions_expires_at ON cloakroom_sessions (expires_at);

  CREATE TABLE cloakroom_users (
    id text PRIMARY KEY,
    -- Canonical usernames compare byte for byte (COLLATE "C"): the UNIQUE index and ORDER BY
    -- then agree with the other stores whatever the database's locale.
    username text COLLATE "C" NOT NULL UNIQUE,
    display_name text NOT NULL,
    password_hash text NOT NULL,
    roles text[] NOT NULL DEFAULT '{}',
    locked boolean NOT NULL DEFAULT false,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
  );

  CREATE TABLE cloakroom_counters (
    key text PRIMARY KEY,
    count integer NOT NULL,
    reset_at bigint NOT NULL
  );
  CREATE INDEX cloakroom_counters_reset_at ON cloakroom_counters (reset_at);
  `,
  `
  -- Credential epochs: rows from before read as 0, the epoch of a user nothing has advanced.
  -- A constant default: PostgreSQL 11+ adds these without rewriting the tables.
  ALTER TABLE cloakroom_sessions ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
  ALTER TABLE cloakroom_users ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
  -- The username's confusable skeleton, unique like the username. Nullable: migrate() fills
  -- it for existing rows after this script, and a user whose skeleton an earlier user already
  -- holds keeps NULL (a UNIQUE index admits any number of NULLs). Not named
  -- cloakroom_users_username_key: that is the index of the UNIQUE constraint on username.
  ALTER TABLE cloakroom_users ADD COLUMN username_key text COLLATE "C";
  CREATE UNIQUE INDEX cloakroom_users_username_key_unique ON cloakroom_users (username_key);
  `,
  `
  -- Every change of a user row, by any writer (an instance, the CLI, psql), is announced on the
  -- channel cloakroom_users as '<schema>.<id>' ('<schema>.' for TRUNCATE: all of them), so a
  -- store that caches users by id drops the row. NOTIFY is delivered at COMMIT, never for a
  -- rollback. Row triggers AFTER the change: the row itself is left as it is.
  CREATE FUNCTION cloakroom_users_notify() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'TRUNCATE' THEN
      PERFORM pg_notify('cloakroom_users', TG_TABLE_SCHEMA || '.');
    ELSIF TG_OP = 'DELETE' THEN
      PERFORM pg_notify('cloakroom_users', TG_TABLE_SCHEMA || '.' || OLD.id);
    ELSE
      PERFORM pg_notify('cloakroom_users', TG_TABLE_SCHEMA || '.' || NEW.id);
      IF TG_OP = 'UPDATE' AND OLD.id IS DISTINCT FROM NEW.id THEN
        PERFORM pg_notify('cloakroom_users', TG_TABLE_SCHEMA || '.' || OLD.id);
      END IF;
    END IF;
    RETURN NULL;
  END
  $$;
  CREATE TRIGGER cloakroom_users_notify AFTER INSERT OR UPDATE OR DELETE ON cloakroom_users
    FOR EACH ROW EXECUTE FUNCTION cloakroom_users_notify();
  CREATE TRIGGER cloakroom_users_notify_truncate AFTER TRUNCATE ON cloakroom_users
    FOR EACH STATEMENT EXECUTE FUNCTION cloakroom_users_notify();
  `,
  `
  -- How and when the user last proved a factor. A session row from before has neither: its
  -- authenticated_at stays NULL and reads as its created_at (a default cannot name another
  -- column), its methods read as none. Nullable and constant defaults: no table rewrite.
  ALTER TABLE cloakroom_sessions ADD COLUMN authenticated_at bigint;
  ALTER TABLE cloakroom_sessions ADD COLUMN methods text[] NOT NULL DEFAULT '{}';
  -- The second-factor document, opaque JSON text kept exactly (text, not jsonb, which would
  -- normalise it); NULL for none (every user from before). The users trigger above fires on
  -- any UPDATE of a row, whatever the columns, so a change of this one alone is notified too.
  ALTER TABLE cloakroom_users ADD COLUMN second_factor text;
  `,
  `
  -- The device key a session is bound to (Device Bound Session Credentials), as the canonical
  -- text of encodeBinding(): text, not jsonb, which would reorder its keys, and bind() compares
  -- and sets it as that text. NULL for none (every session from before, and every one until a
  -- browser registers a key). Nullable without default: no table rewrite.
  ALTER TABLE cloakroom_sessions ADD COLUMN binding text;
  `,
];

/** The channel the users trigger notifies (payload `<schema>.<id>`, or `<schema>.` for all). */
export const USERS_CHANNEL = 'cloakroom_users';

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** The schema holding cloakroom's tables; created if missing. Default `public`. */
  schema?: string;
  /** Stamped on each applied version. Default `Date.now()`. */
  now?: number;
}

/**
 * Brings the schema up to date, then gives a key to every user row that lacks one (see
 * {@link backfillUsernameKeys}); safe on every start and from many instances at once. The
 * whole run is one transaction holding `pg_advisory_xact_lock` on a key derived from the
 * schema name: a second instance starting at the same moment waits, then finds the versions
 * already recorded and applies nothing (DDL is transactional in PostgreSQL, so a failed
 * script leaves no half-made tables). The lock ends with the transaction, even if the
 * connection dies. A database from a newer cloakroom is refused rather than used half-understood.
 * @returns the schema version now in place
 */
export async function migrate(pool: PgPoolLike, options: MigrateOptions = {}): Promise<number> {
  const tables = tablesIn(options.schema ?? 'public');
  return migration.migrate(pool, tables, options.now ?? Date.now());
}

// Any failure (no connection, a script PostgreSQL refuses) is `postgres store: migrate failed`,
// named after the method, with pg's error as the cause; the refusal of a newer schema passes as it is.
const migration = guarded(
  {
    migrate: (pool: PgPoolLike, tables: Tables, now: number): Promise<number> =>
      transaction(pool, async (client) => {
        const version = await migrateLocked(client, tables, now);
        await backfillUsernameKeys(client, tables, usernameSkeleton);
        return version;
      }),
  },
  { driver: 'postgres', store: 'postgres' },
);

async function migrateLocked(client: Queryable, tables: Tables, now: number): Promise<number> {
  const { schema } = tables;
  await client.query({
    text: 'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))',
    values: [`cloakroom.migrate:${schema}`],
  });
  // Looked up first: CREATE SCHEMA IF NOT EXISTS needs the CREATE right even when the schema
  // exists, which an application role often lacks on `public`.
  const found = await client.query({
    text: 'SELECT 1 FROM pg_namespace WHERE nspname = $1',
    values: [schema],
  });
  if (found.rows.length === 0) await client.query({ text: `CREATE SCHEMA "${schema}"` });
  await client.query({
    text: `CREATE TABLE IF NOT EXISTS ${tables.migrations} (version integer PRIMARY KEY, applied_at bigint NOT NULL)`,
  });
  const { rows } = await client.query({
    text: `SELECT coalesce(max(version), 0) AS v FROM ${tables.migrations}`,
  });
  const current = Number((rows[0] as { v: unknown }).v);
  const target = MIGRATIONS.length;
  if (current > target) {
    throw new StoreError(
      `postgres store: schema "${schema}" is at version ${current}, newer than this cloakroom (${target}); upgrade cloakroom`,
    );
  }
  if (current === target) return target;
  await client.query({ text: `SET LOCAL search_path TO "${schema}"` });
  for (let version = current; version < target; version++) {
    await client.query({ text: MIGRATIONS[version]! });
    await client.query({
      text: `INSERT INTO ${tables.migrations} (version, applied_at) VALUES ($1, $2)`,
      values: [version + 1, now],
    });
  }
  return target;
}
