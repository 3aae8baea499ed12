import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, expect, test } from 'vitest';
import {
  createPostgresStore,
  type PostgresStore,
} from '../../packages/cloakroom/src/stores/postgres/index.js';
import { NOW, newUser, unlockedHolders } from '../../packages/cloakroom/src/testing/user-fixtures.js';
import { requirePostgres } from '../support/services.js';

const database = await requirePostgres();
afterAll(() => database.drop());

const opened: PostgresStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

const open = async () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const store = await createPostgresStore({ pool: database.pool, schema, sweepIntervalMs: 0 });
  opened.push(store);
  return { store, users: `"${schema}".cloakroom_users` };
};

/** Resolves once some other backend of this database waits for a row lock. */
async function someoneWaitsForALock(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await database.pool.query(
      `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no query ever waited for a lock');
}

test('keepRole waits for another instance locking the other admin, then refuses: the holders are locked before the check', async () => {
  const { store, users } = await open();
  const a = await store.users.create(newUser('admin-a', { roles: ['admin'] }), NOW);
  const b = await store.users.create(newUser('admin-b', { roles: ['admin'] }), NOW);

  // Another instance in the middle of the same change for admin-b: the admins' rows locked,
  // admin-b locked, not committed yet.
  const other = await database.pool.connect();
  try {
    await other.query('BEGIN');
    await other.query(
      `SELECT id FROM ${users} WHERE 'admin' = ANY(roles) AND NOT locked ORDER BY id FOR UPDATE`,
    );
    await other.query(`UPDATE ${users} SET locked = true WHERE id = $1`, [b.id]);

    const mine = store.users.update(a.id, { locked: true }, NOW + 1, { keepRole: 'admin' });
    await someoneWaitsForALock();
    await other.query('COMMIT');
    // A check on a snapshot taken without the locks would still see admin-b unlocked.
    expect(await mine).toBeNull();
  } finally {
    other.release();
  }
  expect(await unlockedHolders(store.users, 'admin')).toEqual(['admin-a']);
});

test('keepRole changes guarding different roles with crossed holders do not deadlock: one lock order for all', async () => {
  const { store, users } = await open();
  // Ranked by id, the order every keepRole change locks rows in. Changing w while keeping ops
  // (holders x, y, z) and changing y while keeping admin (holders w, x, z) each need all four.
  for (const name of ['u1', 'u2', 'u3', 'u4']) await store.users.create(newUser(name), NOW);
  const ranked = await database.pool.query<{ id: string }>(`SELECT id FROM ${users} ORDER BY id`);
  const [w, x, y, z] = ranked.rows;
  const roles = [['admin'], ['admin', 'ops'], ['ops'], ['admin', 'ops']];
  for (const [i, user] of [w, x, y, z].entries())
    await store.users.update(user!.id, { roles: roles[i]! }, NOW);
  const lockOne = `SELECT id FROM ${users} WHERE id = $1 FOR UPDATE`;

  // Another instance changing y, locking its rows one at a time in id order: w first.
  const other = await database.pool.connect();
  try {
    await other.query('BEGIN');
    await other.query(lockOne, [w!.id]);
    const mine = store.users.update(w!.id, { displayName: 'W' }, NOW + 1, { keepRole: 'ops' });
    await someoneWaitsForALock();
    // Had this store locked x, y, z before waiting for w, the two would now deadlock.
    for (const user of [x, y, z]) await other.query(lockOne, [user!.id]);
    await other.query(`UPDATE ${users} SET display_name = 'Y' WHERE id = $1`, [y!.id]);
    await other.query('COMMIT');
    expect((await mine)?.displayName).toBe('W');
  } finally {
    other.release();
  }
});
