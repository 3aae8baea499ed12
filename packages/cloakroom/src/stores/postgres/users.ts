import { randomUUID } from 'node:crypto';
import type { UserRecord, UserStore } from '../../auth/types.js';
import type { CoherentCache } from '../coherent-cache.js';
import { guarded } from '../errors.js';
import { execute, int, type PgPoolLike, statement, transaction } from './client.js';
import type { Tables } from './tables.js';

interface UserRow {
  id: string;
  username: string;
  display_name: string;
  password_hash: string;
  roles: string[];
  locked: boolean;
  epoch: string;
  second_factor: string | null;
  created_at: string;
  updated_at: string;
}

// username_key is written, never read back: a UserRecord does not carry it.
const COLUMNS =
  'id, username, display_name, password_hash, roles, locked, epoch, second_factor, created_at, updated_at';

// pg builds fresh arrays and objects per query, so returned users are the caller's to mutate.
const toUser = (row: UserRow): UserRecord => ({
  id: row.id,
  username: row.username,
  displayName: row.display_name,
  passwordHash: row.password_hash,
  roles: row.roles,
  locked: row.locked,
  epoch: int(row.epoch),
  secondFactor: row.second_factor,
  createdAt: int(row.created_at),
  updatedAt: int(row.updated_at),
});

/** The PostgreSQL user store, with a readiness check. */
export interface PostgresUserStore extends UserStore {
  ping(): Promise<void>;
}

/**
 * Users in `cloakroom_users`. The session store never reads this table: a user id is only an
 * opaque string to it, so users can live in PostgreSQL while sessions live in Redis.
 */
export function createPostgresUsers(
  pool: PgPoolLike,
  tables: Tables,
  cache: CoherentCache<UserRecord> | null = null,
): PostgresUserStore {
  const t = tables.users;
  const byId = statement(`SELECT ${COLUMNS} FROM ${t} WHERE id = $1`);
  const byUsername = statement(`SELECT ${COLUMNS} FROM ${t} WHERE username = $1`);
  // The UNIQUE indexes on username and username_key refuse a taken name or a look-alike of
  // one, even from another instance creating the same user at the same moment.
  const insert = statement(
    `INSERT INTO ${t} (id, username, username_key, display_name, password_hash, roles, locked, epoch,
       created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6::text[], $7, 0, $8, $8) RETURNING ${COLUMNS}`,
  );
  // One statement with COALESCE: a field left out of the patch (bound as NULL) keeps its stored
  // value, and two concurrent patches of different fields both stick. The epoch moves in SQL
  // (`epoch + 1` on the row as locked), never as a value read earlier, so no advance is lost.
  // The WHERE makes `ifPasswordHash` and `ifSecondFactor` compare-and-sets within the same
  // statement: the row lock serialises them, and an UPDATE that waited for another re-checks its
  // WHERE on the row that one committed. The second factor takes a flag besides its value
  // ($9, $11): NULL is a value there (no document), so COALESCE cannot tell "remove it" from
  // "leave it", and IS NOT DISTINCT FROM compares NULL as a value.
  const update = statement(
    `UPDATE ${t} SET
       display_name = COALESCE($2::text, display_name),
       password_hash = COALESCE($3::text, password_hash),
       roles = COALESCE($4::text[], roles),
       locked = COALESCE($5::boolean, locked),
       second_factor = CASE WHEN $9::boolean THEN $10::text ELSE second_factor END,
       epoch = epoch + $8::integer,
       updated_at = $6
     WHERE id = $1 AND ($7::text IS NULL OR password_hash = $7::text)
       AND (NOT $11::boolean OR second_factor IS NOT DISTINCT FROM $12::text)
     RETURNING ${COLUMNS}`,
  );
  // `keepRole`, first step of its transaction: lock the target and every unlocked holder of the
  // role. A concurrent change of any of them waits for this transaction to end, and then
  // FOR UPDATE re-checks its row as committed (READ COMMITTED): an admin the first transaction
  // locked is no longer returned, so two admins locking each other cannot both pass. ORDER BY
  // id: every such transaction locks in one order, so two of them never deadlock.
  const lockHolders = statement(
    `SELECT id FROM ${t} WHERE id = $1 OR ($2::text = ANY(roles) AND NOT locked) ORDER BY id FOR UPDATE`,
  );
  const list = statement(`SELECT ${COLUMNS} FROM ${t} ORDER BY username`);
  const count = statement(`SELECT count(*)::integer AS n FROM ${t}`);

  const one = (rows: unknown[]): UserRecord | null => {
    const row = rows[0] as UserRow | undefined;
    return row === undefined ? null : toUser(row);
  };

  /** A copy: the caller may change what it gets, the cached record must not change with it. */
  const copy = (user: UserRecord): UserRecord => ({ ...user, roles: [...user.roles] });

  const readById = async (id: string): Promise<UserRecord | null> => {
    if (cache === null) return one((await execute(pool, byId, [id])).rows);
    const hit = cache.lookup(id);
    if (hit !== undefined) return copy(hit);
    const fill = cache.begin(id);
    if (fill === null) return one((await execute(pool, byId, [id])).rows);
    let user: UserRecord | null = null;
    try {
      user = one((await execute(pool, byId, [id])).rows);
      return user;
    } finally {
      cache.settle(fill, user === null ? null : copy(user));
    }
  };

  /**
   * Runs a write of user `id`, then drops it from the cache BEFORE the caller hears back (also
   * when it failed: it may have committed all the same). The trigger's notification would drop it
   * too, a moment later; this makes this instance right at once.
   */
  const writing = async <T>(id: string, write: () => Promise<T>): Promise<T> => {
    if (cache === null) return write();
    try {
      return await write();
    } finally {
      cache.invalidate(id);
    }
  };

  return guarded<PostgresUserStore>(
    {
      async getById(id) {
        return readById(id);
      },

      async getByUsername(username) {
        return one((await execute(pool, byUsername, [username])).rows);
      },

      async create(user, now) {
        const id = randomUUID();
        const { rows } = await writing(id, () =>
          execute(pool, insert, [
            id,
            user.username,
            user.usernameKey,
            user.displayName,
            user.passwordHash,
            user.roles,
            user.locked === true,
            now,
          ]),
        );
        return one(rows)!;
      },

      async update(id, patch, now, condition = {}) {
        const values = [
          id,
          patch.displayName ?? null,
          patch.passwordHash ?? null,
          patch.roles ?? null,
          patch.locked ?? null,
          now,
          condition.ifPasswordHash ?? null,
          patch.advanceEpoch === true ? 1 : 0,
          patch.secondFactor !== undefined,
          patch.secondFactor ?? null,
          condition.ifSecondFactor !== undefined,
          condition.ifSecondFactor ?? null,
        ];
        const role = condition.keepRole;
        if (role === undefined)
          return writing(id, async () => one((await execute(pool, update, values)).rows));
        // Dropped after COMMIT (or ROLLBACK), never before: a read between the UPDATE and the
        // COMMIT still sees the old row, and must not be the last word in the cache.
        return writing(id, () =>
          transaction(pool, async (client) => {
            const locked = (await execute(client, lockHolders, [id, role])).rows as Array<{ id: string }>;
            // Only the target and unlocked holders come back: any other row is another holder.
            if (!locked.some((row) => row.id !== id)) return null;
            return one((await execute(client, update, values)).rows);
          }),
        );
      },

      async list() {
        return ((await execute(pool, list, [])).rows as UserRow[]).map(toUser);
      },

      async count() {
        const { rows } = await execute(pool, count, []);
        return (rows[0] as { n: number }).n;
      },

      async ping() {
        await pool.query({ text: 'SELECT 1' });
      },
    },
    {
      driver: 'postgres',
      store: 'user',
      creates: { create: 'a user with this username (or one confusable with it)' },
    },
  );
}
