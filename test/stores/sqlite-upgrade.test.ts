import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { usernameSkeleton } from '../../packages/cloakroom/src/auth/usernames.js';
import {
  createSqliteStore,
  MIGRATIONS,
  type SqliteStore,
} from '../../packages/cloakroom/src/stores/sqlite/index.js';
import { backfillUsernameKeys } from '../../packages/cloakroom/src/stores/sqlite/username-keys.js';
import { newUser } from '../../packages/cloakroom/src/testing/user-fixtures.js';

// A database as an earlier schema version left it: credential epochs and username keys came
// with version 2; how and when a session's user proved a factor, and the users' second-factor
// documents, with version 3. Its rows are written by hand, with the columns that version had.
const T0 = Date.UTC(2026, 0, 1);
let dir: string;
let file: string;
const opened: SqliteStore[] = [];
const connections: Database.Database[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloakroom-sqlite-upgrade-'));
  file = join(dir, 'cloakroom.db');
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  for (const db of connections.splice(0)) db.close();
  rmSync(dir, { recursive: true, force: true });
});

const connect = (options?: Database.Options): Database.Database => {
  const db = new Database(file, options);
  connections.push(db);
  return db;
};

const open = (database?: Database.Database): SqliteStore => {
  const store = createSqliteStore(
    database ? { database, sweepIntervalMs: 0 } : { path: file, sweepIntervalMs: 0 },
  );
  opened.push(store);
  return store;
};

/** Creates the file at schema `version` (1, 2 or 3) with these users, without the backfill. */
function databaseAt(version: number, users: Array<{ id: string; username: string; createdAt: number }>) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  for (const script of MIGRATIONS.slice(0, version)) db.exec(script);
  db.pragma(`user_version = ${version}`);
  const insert = db.prepare(
    `INSERT INTO users (id, username, display_name, password_hash, roles, locked, created_at, updated_at)
     VALUES (?, ?, ?, '$argon2id$old', '["admin"]', 0, ?, ?)`,
  );
  for (const u of users) insert.run(u.id, u.username, u.username, u.createdAt, u.createdAt);
  return db;
}

const keysOf = (db: Database.Database) =>
  Object.fromEntries(
    db.prepare<[], [string, string | null]>('SELECT username, username_key FROM users').raw().all(),
  );

describe('sqlite store: a database from schema version 1 opens upgraded', () => {
  test('old sessions and users read epoch 0, every user gets the skeleton of its username as key', async () => {
    const old = databaseAt(1, [
      { id: 'u-ada', username: 'ada', createdAt: T0 },
      { id: 'u-bob', username: 'bob', createdAt: T0 + 1 },
    ]);
    const now = Date.now();
    old
      .prepare(
        `INSERT INTO sessions (id, user_id, created_at, last_seen_at, idle_expires_at, absolute_expires_at,
          idle_timeout_ms, remember, csrf_secret, ip, user_agent, data)
         VALUES ('s-old', 'u-ada', ?, ?, ?, ?, 1800000, 1, 'csrf', '203.0.113.7', 'UA', '{"k":[1]}')`,
      )
      .run(now, now, now + 1_800_000, now + 43_200_000);
    old.close();

    const store = open();
    expect(store.database.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
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
    expect(keysOf(store.database)).toEqual({ ada: usernameSkeleton('ada'), bob: usernameSkeleton('bob') });

    // The backfilled keys are enforced, and the old users take part in the new contract.
    await expect(
      store.users.create(newUser('ada-again', { usernameKey: usernameSkeleton('ada') }), now),
    ).rejects.toMatchObject({ name: 'StoreError', code: 'conflict' });
    expect((await store.users.update('u-bob', { advanceEpoch: true }, now))?.epoch).toBe(1);
  });

  test('reopening an upgraded database writes nothing: a read-only connection opens it', async () => {
    databaseAt(1, [{ id: 'u-ada', username: 'ada', createdAt: T0 }]).close();
    await open().close();
    const store = open(connect({ readonly: true }));
    expect((await store.users.getById('u-ada'))?.epoch).toBe(0);
  });
});

describe('sqlite store: a database from schema version 2 opens upgraded', () => {
  test('old sessions read as authenticated at their creation by no method named, old users without a second factor', async () => {
    const old = databaseAt(2, [{ id: 'u-ada', username: 'ada', createdAt: T0 }]);
    const now = Date.now();
    const createdAt = now - 5 * 60_000;
    old
      .prepare(
        `INSERT INTO sessions (id, user_id, created_at, last_seen_at, idle_expires_at, absolute_expires_at,
          idle_timeout_ms, remember, epoch, csrf_secret, ip, user_agent, data)
         VALUES ('s-old', 'u-ada', ?, ?, ?, ?, 1800000, 0, 5, 'csrf', NULL, NULL, '{}')`,
      )
      .run(createdAt, now, now + 1_800_000, createdAt + 43_200_000);
    old.close();

    const store = open();
    expect(store.database.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
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
    // Again: this answer comes from the read cache.
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

describe('sqlite store: the username key backfill', () => {
  // A stand-in for the confusables data: the Cyrillic а (U+0430) looks like the Latin a.
  const skeleton = (username: string) => username.replaceAll('\u0430', 'a');

  test('of two existing users with one skeleton the earlier keeps the key and the later stays NULL', () => {
    // The later user is inserted first: "earlier" is by created_at, not by row order.
    const db = databaseAt(2, [
      { id: 'u-cyrillic', username: '\u0430dmin', createdAt: T0 + 5 },
      { id: 'u-latin', username: 'admin', createdAt: T0 },
      { id: 'u-bob', username: 'bob', createdAt: T0 + 9 },
    ]);
    connections.push(db);
    expect(backfillUsernameKeys(db, skeleton)).toBe(2);
    expect(keysOf(db)).toEqual({ admin: 'admin', '\u0430dmin': null, bob: 'bob' });
  });

  test('a key a newer user already holds is not given to an old row (no start-up failure)', () => {
    const db = databaseAt(2, [{ id: 'u-old', username: '\u0430dmin', createdAt: T0 }]);
    connections.push(db);
    db.prepare(
      `INSERT INTO users (id, username, username_key, display_name, password_hash, created_at, updated_at)
       VALUES ('u-new', 'admin', 'admin', 'Admin', 'h', ?, ?)`,
    ).run(T0 + 1, T0 + 1);
    expect(backfillUsernameKeys(db, skeleton)).toBe(0);
    expect(keysOf(db)).toEqual({ admin: 'admin', '\u0430dmin': null });
  });

  test('once every row that can take a key has one, it only reads: no write lock, a read-only connection runs it', () => {
    const db = databaseAt(2, [
      { id: 'u-latin', username: 'admin', createdAt: T0 },
      { id: 'u-cyrillic', username: '\u0430dmin', createdAt: T0 + 5 },
    ]);
    backfillUsernameKeys(db, skeleton);
    db.close();
    const readonly = connect({ readonly: true });
    expect(backfillUsernameKeys(readonly, skeleton)).toBe(0);
    expect(keysOf(readonly)).toEqual({ admin: 'admin', '\u0430dmin': null });
    // Nor does it wait for the write lock: another process writing at this moment does not
    // hold up the start (no busy wait allowed here, so waiting would fail with SQLITE_BUSY).
    const writer = connect();
    writer.exec('BEGIN IMMEDIATE');
    expect(backfillUsernameKeys(connect({ timeout: 0 }), skeleton)).toBe(0);
    writer.exec('ROLLBACK');
  });
});
