import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { usernameSkeleton } from '../../packages/cloakroom/src/auth/usernames.js';
import { transaction } from '../../packages/cloakroom/src/stores/postgres/client.js';
import {
  createPostgresStore,
  MIGRATIONS,
  type PostgresStore,
} from '../../packages/cloakroom/src/stores/postgres/index.js';
import { tablesIn } from '../../packages/cloakroom/src/stores/postgres/tables.js';
import { backfillUsernameKeys } from '../../packages/cloakroom/src/stores/postgres/username-keys.js';
import { newUser } from '../../packages/cloakroom/src/testing/user-fixtures.js';
import { requirePostgres } from '../support/services.js';

// A schema as an earlier version left it: credential epochs and username keys came with
// version 2; how and when a session's user proved a factor, and the users' second-factor
// documents, with version 4. Its rows are written by hand, with the columns that version had.
const database = await requirePostgres();
afterAll(() => database.drop());

const T0 = Date.UTC(2026, 0, 1);
const opened: PostgresStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

const open = async (schema: string) => {
  const store = await createPostgresStore({ pool: database.pool, schema, sweepIntervalMs: 0 });
  opened.push(store);
  return store;
};

/** A fresh schema at `version` (1 to 4) with these users, without the backfill. */
async function schemaAt(version: number, users: Array<{ id: string; username: string; createdAt: number }>) {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const client = await database.pool.connect();
  try {
    await client.query(`CREATE SCHEMA "${schema}"; SET search_path TO "${schema}"`);
    for (const script of MIGRATIONS.slice(0, version)) await client.query(script);
    await client.query(
      'CREATE TABLE cloakroom_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)',
    );
    for (let v = 1; v <= version; v++)
      await client.query('INSERT INTO cloakroom_migrations VALUES ($1, 0)', [v]);
    for (const u of users) {
      await client.query(
        `INSERT INTO cloakroom_users (id, username, display_name, password_hash, roles, locked, created_at, updated_at)
         VALUES ($1, $2, $2, '$argon2id$old', '{admin}', false, $3, $3)`,
        [u.id, u.username, u.createdAt],
      );
    }
  } finally {
    await client.query('RESET search_path');
    client.release();
  }
  return schema;
}

const keysOf = async (schema: string) =>
  Object.fromEntries(
    (
      await database.pool.query<{ username: string; username_key: string | null }>(
        `SELECT username, username_key FROM "${schema}".cloakroom_users`,
      )
    ).rows.map((r) => [r.username, r.username_key]),
  );

describe('postgres store: a schema from version 1 opens upgraded', () => {
  test('old sessions and users read epoch 0, every user gets the skeleton of its username as key', async () => {
    const schema = await schemaAt(1, [
      { id: 'u-ada', username: 'ada', createdAt: T0 },
      { id: 'u-bob', username: 'bob', createdAt: T0 + 1 },
    ]);
    const now = Date.now();
    await database.pool.query(
      `INSERT INTO "${schema}".cloakroom_sessions (id, user_id, created_at, last_seen_at, idle_expires_at,
         absolute_expires_at, idle_timeout_ms, remember, csrf_secret, ip, user_agent, data)
       VALUES ('s-old', 'u-ada', $1, $1, $2, $3, 1800000, true, 'csrf', '203.0.113.7', 'UA', '{"k":[1]}')`,
      [now, now + 1_800_000, now + 43_200_000],
    );

    const store = await open(schema);
    const versions = await database.pool.query(
      `SELECT max(version) AS v FROM "${schema}".cloakroom_migrations`,
    );
    expect(versions.rows[0]).toEqual({ v: MIGRATIONS.length });
    expect(await store.sessions.get('s-old')).toEqual({
      id: 's-old',
      userId: 'u-ada',
      createdAt: now,
      lastSeenAt: now,
      idleExpiresAt: now + 1_800_000,
      absoluteExpiresAt: now + 43_200_000,
      idleTimeoutMs: 1_800_000,
      remember: true,
      epoch: 0,
      authenticatedAt: now,
      methods: [],
      csrfSecret: 'csrf',
      ip: '203.0.113.7',
      userAgent: 'UA',
      binding: null,
      data: { k: [1] },
    });
    expect((await store.sessions.listByUser('u-ada', now)).map((s) => s.epoch)).toEqual([0]);
    expect((await store.users.list()).map((u) => [u.username, u.epoch])).toEqual([
      ['ada', 0],
      ['bob', 0],
    ]);
    expect(await keysOf(schema)).toEqual({ ada: usernameSkeleton('ada'), bob: usernameSkeleton('bob') });

    // The backfilled keys are enforced, and the old users take part in the new contract.
    await expect(
      store.users.create(newUser('ada-again', { usernameKey: usernameSkeleton('ada') }), now),
    ).rejects.toMatchObject({ name: 'StoreError', code: 'conflict' });
    expect((await store.users.update('u-bob', { advanceEpoch: true }, now))?.epoch).toBe(1);
  });
});

describe('postgres store: a schema from version 3 opens upgraded', () => {
  test('old sessions read as authenticated at their creation by no method named, old users without a second factor', async () => {
    const schema = await schemaAt(3, [{ id: 'u-ada', username: 'ada', createdAt: T0 }]);
    const now = Date.now();
    const createdAt = now - 5 * 60_000;
    await database.pool.query(
      `INSERT INTO "${schema}".cloakroom_sessions (id, user_id, created_at, last_seen_at, idle_expires_at,
         absolute_expires_at, idle_timeout_ms, remember, epoch, csrf_secret, ip, user_agent, data)
       VALUES ('s-old', 'u-ada', $1, $2, $3, $4, 1800000, false, 5, 'csrf', NULL, NULL, '{}')`,
      [createdAt, now, now + 1_800_000, createdAt + 43_200_000],
    );

    const store = await open(schema);
    const versions = await database.pool.query(
      `SELECT max(version) AS v FROM "${schema}".cloakroom_migrations`,
    );
    expect(versions.rows[0]).toEqual({ v: MIGRATIONS.length });
    const expected = {
      id: 's-old',
      userId: 'u-ada',
      createdAt,
      lastSeenAt: now,
      idleExpiresAt: now + 1_800_000,
      absoluteExpiresAt: createdAt + 43_200_000,
      idleTimeoutMs: 1_800_000,
      remember: false,
      epoch: 5,
      authenticatedAt: createdAt,
      methods: [],
      csrfSecret: 'csrf',
      ip: null,
      userAgent: null,
      binding: null,
      data: {},
    };
    expect(await store.sessions.get('s-old')).toEqual(expected);
    expect(await store.sessions.listByUser('u-ada', now)).toEqual([expected]);
    // The old session stays usable, and keeps reading so.
    expect(await store.sessions.touch('s-old', now + 1, now + 1_900_000)).toBe(true);
    expect(await store.sessions.updateData('s-old', { set: { n: 1 } })).toBe(true);
    expect(await store.sessions.get('s-old')).toEqual({
      ...expected,
      lastSeenAt: now + 1,
      idleExpiresAt: now + 1_900_000,
      data: { n: 1 },
    });

    const ada = await store.users.getById('u-ada');
    expect(ada?.secondFactor).toBeNull();
    expect((await store.users.list()).map((u) => u.secondFactor)).toEqual([null]);
    // The old user takes part in the new contract: a first enrolment applies, once.
    const enrolled = await store.users.update('u-ada', { secondFactor: '{"totp":1}' }, now, {
      ifSecondFactor: null,
    });
    expect(enrolled).toEqual({ ...ada, secondFactor: '{"totp":1}', updatedAt: now });
    expect(
      await store.users.update('u-ada', { secondFactor: '{}' }, now, { ifSecondFactor: null }),
    ).toBeNull();
  });
});

describe('postgres store: the username key backfill', () => {
  // A stand-in for the confusables data: the Cyrillic а (U+0430) looks like the Latin a.
  const skeleton = (username: string) => username.replaceAll('\u0430', 'a');
  // In a transaction of its own, as migrate() runs it.
  const backfill = (schema: string) =>
    transaction(database.pool, (client) => backfillUsernameKeys(client, tablesIn(schema), skeleton));

  test('of two existing users with one skeleton the earlier keeps the key and the later stays NULL', async () => {
    // The later user is inserted first: "earlier" is by created_at, not by row order.
    const schema = await schemaAt(2, [
      { id: 'u-cyrillic', username: '\u0430dmin', createdAt: T0 + 5 },
      { id: 'u-latin', username: 'admin', createdAt: T0 },
      { id: 'u-bob', username: 'bob', createdAt: T0 + 9 },
    ]);
    expect(await backfill(schema)).toBe(2);
    expect(await keysOf(schema)).toEqual({ admin: 'admin', '\u0430dmin': null, bob: 'bob' });
  });

  test('a key a newer user already holds is not given to an old row (no start-up failure)', async () => {
    const schema = await schemaAt(2, [{ id: 'u-old', username: '\u0430dmin', createdAt: T0 }]);
    await database.pool.query(
      `INSERT INTO "${schema}".cloakroom_users (id, username, username_key, display_name, password_hash,
         created_at, updated_at) VALUES ('u-new', 'admin', 'admin', 'Admin', 'h', $1, $1)`,
      [T0 + 1],
    );
    expect(await backfill(schema)).toBe(0);
    expect(await keysOf(schema)).toEqual({ admin: 'admin', '\u0430dmin': null });
  });

  test('once every row that can take a key has one, it only reads (it runs in a READ ONLY transaction)', async () => {
    const schema = await schemaAt(2, [
      { id: 'u-latin', username: 'admin', createdAt: T0 },
      { id: 'u-cyrillic', username: '\u0430dmin', createdAt: T0 + 5 },
    ]);
    expect(await backfill(schema)).toBe(1);
    const client = await database.pool.connect();
    try {
      await client.query('BEGIN READ ONLY');
      expect(await backfillUsernameKeys(client, tablesIn(schema), skeleton)).toBe(0);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(await keysOf(schema)).toEqual({ admin: 'admin', '\u0430dmin': null });
  });

  test('finds the rows without a key through the index, not by reading the table', async () => {
    const schema = await schemaAt(2, []);
    const client = await database.pool.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const plan = await client.query(
        `EXPLAIN SELECT id, username FROM "${schema}".cloakroom_users WHERE username_key IS NULL`,
      );
      expect(plan.rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n')).toMatch(
        /cloakroom_users_username_key_unique/,
      );
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
  });
});
