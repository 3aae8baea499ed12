// No raw driver error ever leaves a store method: every real failure of better-sqlite3, pg or
// node-redis comes out as a StoreError whose message names the store and the operation, whose
// `code` is `conflict` for a unique violation of a create and `unavailable` for anything else,
// and whose `cause` is the driver's own error. The failures are real ones: a closed or
// read-only SQLite connection, a pg pool on a database that does not exist, Redis keys of the
// wrong type and a closed node-redis client.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { UserStore } from '../../packages/cloakroom/src/auth/types.js';
import { StoreError } from '../../packages/cloakroom/src/core/errors.js';
import {
  createPostgresStore,
  type PostgresStore,
} from '../../packages/cloakroom/src/stores/postgres/index.js';
import {
  createRedisStore,
  type RedisClientLike,
  type RedisStore,
} from '../../packages/cloakroom/src/stores/redis/index.js';
import { createSqliteStore, type SqliteStore } from '../../packages/cloakroom/src/stores/sqlite/index.js';
import { MINUTE, sessionRecord } from '../../packages/cloakroom/src/testing/session-fixtures.js';
import { NOW, newUser } from '../../packages/cloakroom/src/testing/user-fixtures.js';
import {
  DATABASE_URL,
  deleteKeys,
  REDIS_URL,
  randomPrefix,
  requirePostgres,
  requireRedis,
} from '../support/services.js';

/** What a call rejected with; fails the test if it resolved. */
async function rejection(call: () => Promise<unknown>): Promise<unknown> {
  return call().then(
    (value) => {
      throw new Error(`expected a rejection, resolved with ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

/**
 * `call` rejects with a StoreError of `code` and exactly `message`, and its `cause` is the
 * driver's error (not a StoreError, not missing). Returns the cause for driver-specific checks.
 */
async function expectWrapped(
  call: () => Promise<unknown>,
  message: string,
  code: 'unavailable' | 'conflict' = 'unavailable',
): Promise<Error & { code?: unknown }> {
  const error = await rejection(call);
  expect(error, message).toBeInstanceOf(StoreError);
  expect((error as StoreError).message).toBe(message);
  expect((error as StoreError).code, message).toBe(code);
  const cause = (error as StoreError).cause;
  expect(cause, `${message}: cause`).toBeInstanceOf(Error);
  expect(cause, `${message}: cause`).not.toBeInstanceOf(StoreError);
  return cause as Error & { code?: unknown };
}

// The real services of this machine (a missing one fails here, with how to start it).
const database = await requirePostgres();
const shared = await requireRedis();
afterAll(async () => {
  await database.drop();
  await shared.close();
});

type Calls = Array<[message: string, call: () => Promise<unknown>]>;

/**
 * Every method of a SQL-backed store (SQLite, PostgreSQL: the same three stores, the same
 * methods), each with the message its failure must carry.
 */
function sqlStoreCalls(
  sessions: SqliteStore['sessions'] | PostgresStore['sessions'],
  users: UserStore & { ping(): Promise<void> },
  counters: SqliteStore['counters'] | PostgresStore['counters'],
): Calls {
  return [
    ['session store: get failed', () => sessions.get('x')],
    ['session store: create failed', () => sessions.create(sessionRecord())],
    ['session store: touch failed', () => sessions.touch('x', 1, 2)],
    ['session store: updateData failed', () => sessions.updateData('x', { set: { a: 1 } })],
    ['session store: delete failed', () => sessions.delete('x')],
    ['session store: deleteByUser failed', () => sessions.deleteByUser('u', 'x')],
    ['session store: listByUser failed', () => sessions.listByUser('u', 0)],
    ['session store: sweep failed', () => sessions.sweep(0, 1)],
    ['session store: ping failed', () => sessions.ping()],
    ['user store: getById failed', () => users.getById('x')],
    ['user store: getByUsername failed', () => users.getByUsername('ada')],
    ['user store: create failed', () => users.create(newUser('ada'), NOW)],
    ['user store: update failed', () => users.update('x', { locked: true }, NOW)],
    ['user store: update failed', () => users.update('x', { locked: true }, NOW, { keepRole: 'admin' })],
    ['user store: list failed', () => users.list()],
    ['user store: count failed', () => users.count()],
    ['user store: ping failed', () => users.ping()],
    ['counter store: increment failed', () => counters.increment('k', MINUTE, 0)],
    ['counter store: get failed', () => counters.get('k', 0)],
    ['counter store: reset failed', () => counters.reset('k')],
    ['counter store: sweep failed', () => counters.sweep(0, 1)],
  ];
}

const SESSION_CONFLICT = 'session store: create failed: a session with this id already exists';
const USER_CONFLICT =
  'user store: create failed: a user with this username (or one confusable with it) already exists';

describe('sqlite store: driver errors become StoreErrors', () => {
  let dir: string;
  const stores: SqliteStore[] = [];
  const databases: Database.Database[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cloakroom-errors-'));
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const db of databases.splice(0)) if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const open = (options: Parameters<typeof createSqliteStore>[0] = {}) => {
    const store = createSqliteStore({ path: join(dir, 'cloakroom.db'), sweepIntervalMs: 0, ...options });
    stores.push(store);
    return store;
  };

  /** A store on a connection the test closes under it: every statement then throws. */
  function onClosedConnection(options: Parameters<typeof createSqliteStore>[0] = {}) {
    const db = new Database(join(dir, 'cloakroom.db'));
    databases.push(db);
    const store = open({ database: db, ...options });
    db.close();
    return store;
  }

  test('a closed connection: every method names its store and operation, the driver error is the cause', async () => {
    const store = onClosedConnection();
    const users = store.users as SqliteStore['users'] & { ping(): Promise<void> };
    const calls: Calls = [
      ...sqlStoreCalls(store.sessions, users, store.counters),
      ['session store: sweep failed', () => store.sweep()],
    ];
    for (const [message, call] of calls) {
      const cause = await expectWrapped(call, message);
      expect(cause.message, message).toMatch(/not open/);
    }
  });

  test('a unique violation on create is a conflict; any other SqliteError there is unavailable', async () => {
    const store = open();
    const record = sessionRecord();
    await store.sessions.create(record);
    const sessionCause = await expectWrapped(
      () => store.sessions.create(record),
      SESSION_CONFLICT,
      'conflict',
    );
    expect(sessionCause).toBeInstanceOf(Database.SqliteError);
    expect(sessionCause.code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');

    await store.users.create(newUser('ada'), NOW);
    const userCause = await expectWrapped(
      () => store.users.create(newUser('ada', { usernameKey: 'other' }), NOW),
      USER_CONFLICT,
      'conflict',
    );
    expect(userCause.code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    await store.close();

    // The same create on a read-only connection: a driver error that is no conflict.
    const readonly = new Database(join(dir, 'cloakroom.db'), { readonly: true });
    databases.push(readonly);
    const reader = open({ database: readonly });
    for (const [message, call] of [
      ['session store: create failed', () => reader.sessions.create(sessionRecord())],
      ['user store: create failed', () => reader.users.create(newUser('bob'), NOW)],
      ['counter store: increment failed', () => reader.counters.increment('k', MINUTE, 0)],
    ] satisfies Calls) {
      const cause = await expectWrapped(call, message);
      expect(cause).toBeInstanceOf(Database.SqliteError);
      expect(cause.code).toBe('SQLITE_READONLY');
    }
  });

  test('a file that cannot be opened is `sqlite store: open failed` with the driver error as cause', () => {
    let error: unknown;
    try {
      open({ path: dir }); // a directory, not a database file
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toBe('sqlite store: open failed');
    expect((error as StoreError).code).toBe('unavailable');
    expect((error as StoreError).cause).toBeInstanceOf(Database.SqliteError);
  });

  test('a timed sweep that fails reaches onSweepError as a StoreError naming the operation', async () => {
    const onSweepError = vi.fn();
    onClosedConnection({ sweepIntervalMs: 5, onSweepError });
    await vi.waitFor(() => expect(onSweepError).toHaveBeenCalled());
    const error = onSweepError.mock.calls[0]![0] as StoreError;
    expect(error).toBeInstanceOf(StoreError);
    expect(error.message).toBe('session store: sweep failed');
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.cause).not.toBeInstanceOf(StoreError);
  });
});

describe('postgres store: driver errors become StoreErrors', () => {
  /** A pool on a database that does not exist: PostgreSQL refuses every connection (3D000). */
  function poolOnMissingDatabase(): pg.Pool {
    const url = new URL(DATABASE_URL);
    url.pathname = '/cloakroom_no_such_database';
    const pool = new pg.Pool({ connectionString: url.href, connectionTimeoutMillis: 2_000 });
    pool.on('error', () => {});
    return pool;
  }

  test('a missing database: the migration and every method name their operation, pg’s error is the cause', async () => {
    const pool = poolOnMissingDatabase();
    try {
      const migrateCause = await expectWrapped(
        () => createPostgresStore({ pool }),
        'postgres store: migrate failed',
      );
      expect(migrateCause.code).toBe('3D000');

      const store: PostgresStore = await createPostgresStore({ pool, migrate: false, sweepIntervalMs: 0 });
      const calls: Calls = [
        ...sqlStoreCalls(store.sessions, store.users, store.counters),
        ['session store: ping failed', () => store.ping()],
        ['session store: sweep failed', () => store.sweep()],
      ];
      for (const [message, call] of calls) {
        const cause = await expectWrapped(call, message);
        expect(cause.code, message).toBe('3D000');
      }
      await store.close();
    } finally {
      await pool.end();
    }
  });

  test('a unique violation on create is a conflict with pg’s error (23505) as the cause', async () => {
    const store = await createPostgresStore({ pool: database.pool, sweepIntervalMs: 0 });
    try {
      const record = sessionRecord();
      await store.sessions.create(record);
      const sessionCause = await expectWrapped(
        () => store.sessions.create(record),
        SESSION_CONFLICT,
        'conflict',
      );
      expect(sessionCause.code).toBe('23505');

      await store.users.create(newUser('ada'), NOW);
      const userCause = await expectWrapped(
        () => store.users.create(newUser('ada', { usernameKey: 'other' }), NOW),
        USER_CONFLICT,
        'conflict',
      );
      expect(userCause.code).toBe('23505');
    } finally {
      await store.close();
    }
  });

  test('a timed sweep that fails reaches onSweepError as a StoreError naming the operation', async () => {
    const pool = poolOnMissingDatabase();
    const onSweepError = vi.fn();
    const store = await createPostgresStore({ pool, migrate: false, sweepIntervalMs: 20, onSweepError });
    try {
      await vi.waitFor(() => expect(onSweepError).toHaveBeenCalled(), { timeout: 3_000 });
      const error = onSweepError.mock.calls[0]![0] as StoreError;
      expect(error).toBeInstanceOf(StoreError);
      expect(error.message).toBe('session store: sweep failed');
      expect((error.cause as { code?: unknown }).code).toBe('3D000');
    } finally {
      await store.close();
      await pool.end();
    }
  });
});

describe('redis store: driver errors become StoreErrors', () => {
  const prefixes: string[] = [];
  afterEach(async () => {
    for (const prefix of prefixes.splice(0)) await deleteKeys(shared, prefix);
  });

  test('keys of the wrong type: each Redis error reply names its operation and is the cause', async () => {
    const prefix = randomPrefix();
    prefixes.push(prefix);
    const store: RedisStore = createRedisStore({ client: shared, prefix });
    // Strings where the store keeps hashes and sorted sets: Redis answers WRONGTYPE.
    await shared.set(`${prefix}s:x`, 'not a hash');
    await shared.set(`${prefix}u:u`, 'not a sorted set');
    await shared.set(`${prefix}c:k`, 'not a hash');
    const calls: Calls = [
      ['session store: get failed', () => store.sessions.get('x')],
      ['session store: touch failed', () => store.sessions.touch('x', Date.now(), Date.now() + MINUTE)],
      ['session store: updateData failed', () => store.sessions.updateData('x', { set: { a: 1 } })],
      ['session store: delete failed', () => store.sessions.delete('x')],
      ['session store: deleteByUser failed', () => store.sessions.deleteByUser('u')],
      ['session store: listByUser failed', () => store.sessions.listByUser('u', Date.now())],
      ['counter store: increment failed', () => store.counters.increment('k', MINUTE, Date.now())],
      ['counter store: get failed', () => store.counters.get('k', Date.now())],
    ];
    for (const [message, call] of calls) {
      const cause = await expectWrapped(call, message);
      expect(cause.message, message).toMatch(/WRONGTYPE/);
    }
    // The create script refuses an existing key by itself: a conflict the store raises, no cause.
    const conflict = await rejection(() => store.sessions.create(sessionRecord({ id: 'x' })));
    expect(conflict).toBeInstanceOf(StoreError);
    expect(conflict).toMatchObject({ message: SESSION_CONFLICT, code: 'conflict' });
  });

  test('a closed client: every method names its operation, node-redis’ error is the cause', async () => {
    const client = createClient({ url: REDIS_URL });
    client.on('error', () => {});
    await client.connect();
    client.destroy();
    // Without `isReady` (a client type the store cannot ask), so each command reaches the client.
    const like: RedisClientLike = {
      hGetAll: (key) => client.hGetAll(key),
      hmGet: (key, fields) => client.hmGet(key, fields),
      zRem: (key, members) => client.zRem(key, members),
      del: (key) => client.del(key),
      eval: (script, options) => client.eval(script, options),
      evalSha: (sha, options) => client.evalSha(sha, options),
      ping: () => client.ping(),
    };
    const store = createRedisStore({ client: like, prefix: randomPrefix() });
    const calls: Calls = [
      ['session store: get failed', () => store.sessions.get('x')],
      ['session store: create failed', () => store.sessions.create(sessionRecord())],
      ['session store: touch failed', () => store.sessions.touch('x', Date.now(), Date.now() + MINUTE)],
      ['session store: updateData failed', () => store.sessions.updateData('x', { set: { a: 1 } })],
      ['session store: delete failed', () => store.sessions.delete('x')],
      ['session store: deleteByUser failed', () => store.sessions.deleteByUser('u')],
      ['session store: listByUser failed', () => store.sessions.listByUser('u', Date.now())],
      ['session store: ping failed', () => store.sessions.ping()],
      ['session store: ping failed', () => store.ping()],
      ['counter store: increment failed', () => store.counters.increment('k', MINUTE, Date.now())],
      ['counter store: get failed', () => store.counters.get('k', Date.now())],
      ['counter store: reset failed', () => store.counters.reset('k')],
    ];
    for (const [message, call] of calls) {
      const cause = await expectWrapped(call, message);
      expect(cause.message, message).toMatch(/closed/i);
    }
  });
});
