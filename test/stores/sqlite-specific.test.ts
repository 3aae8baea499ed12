import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { ConfigError, StoreError } from '../../packages/cloakroom/src/core/errors.js';
import {
  createSqliteStore,
  MIGRATIONS,
  migrate,
  type SqliteStore,
} from '../../packages/cloakroom/src/stores/sqlite/index.js';
import { sessionRecord } from '../../packages/cloakroom/src/testing/session-fixtures.js';

const MINUTE = 60_000;
let dir: string;
let file: string;
const opened: SqliteStore[] = [];

const open = (options: Parameters<typeof createSqliteStore>[0] = {}) => {
  const store = createSqliteStore({ path: file, sweepIntervalMs: 0, ...options });
  opened.push(store);
  return store;
};

const sessionCount = (store: SqliteStore): number =>
  store.database.prepare<[], number>('SELECT count(*) FROM sessions').pluck().get()!;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloakroom-sqlite-'));
  file = join(dir, 'nested', 'cloakroom.db');
});

afterEach(async () => {
  vi.useRealTimers();
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sqlite store: connection settings', () => {
  test('opens in WAL mode with synchronous NORMAL, a busy timeout and foreign keys on', () => {
    const { database } = open();
    expect(database.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(database.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(database.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(database.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  test("creates the file's directory and the -wal file beside it", () => {
    open();
    expect(existsSync(file)).toBe(true);
    expect(existsSync(`${file}-wal`)).toBe(true);
  });

  test('neither path nor database is a ConfigError naming `path`', () => {
    expect(() => createSqliteStore({})).toThrow(ConfigError);
    expect(() => createSqliteStore({ path: file, sweepBatch: 0 })).toThrow(/sweepBatch/);
  });

  test('get and the sweep are index lookups, not table scans', () => {
    const { database } = open();
    const plan = (sql: string) =>
      database
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...(sql.match(/\?/g) ?? []).map(() => 1))
        .map((row) => (row as { detail: string }).detail)
        .join('\n');
    expect(plan('SELECT data FROM sessions WHERE id = ?')).toMatch(/USING INDEX sqlite_autoindex_sessions_1/);
    expect(plan('SELECT rowid FROM sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?')).toMatch(
      /SEARCH sessions USING (COVERING )?INDEX sessions_expires_at/,
    );
    expect(plan('SELECT rowid FROM counters WHERE reset_at <= ? LIMIT ?')).toMatch(/INDEX counters_reset_at/);
    expect(plan('SELECT id FROM sessions WHERE user_id = ? AND expires_at > ?')).toMatch(/USING INDEX/);
  });
});

describe('sqlite store: migrations and reopening', () => {
  test('migrations are idempotent: reopening keeps the data and user_version', async () => {
    const first = open();
    const record = sessionRecord({ data: { k: [1, { n: null }] } });
    await first.sessions.create(record);
    const user = await first.users.create(
      { username: 'ada', usernameKey: 'ada', displayName: 'Ada', passwordHash: 'h', roles: ['admin'] },
      Date.now(),
    );
    await first.close();

    const second = open();
    expect(second.database.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(migrate(second.database)).toBe(MIGRATIONS.length);
    expect(await second.sessions.get(record.id)).toEqual(record);
    expect(await second.users.getById(user.id)).toEqual(user);
  });

  test('a record survives close and reopen, including touch and data changes', async () => {
    const record = sessionRecord();
    const first = open();
    await first.sessions.create(record);
    await first.sessions.touch(record.id, record.lastSeenAt + 1, record.idleExpiresAt + 1);
    await first.sessions.updateData(record.id, { set: { cart: ['book'] } });
    await first.close();
    expect(await open().sessions.get(record.id)).toEqual({
      ...record,
      lastSeenAt: record.lastSeenAt + 1,
      idleExpiresAt: record.idleExpiresAt + 1,
      data: { cart: ['book'] },
    });
  });

  test('a database from a newer cloakroom (higher user_version) is refused with StoreError', async () => {
    (await open()).database.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    expect(() => open()).toThrow(StoreError);
  });

  test("two stores opened on the same file at once both work and see each other's writes", async () => {
    const a = open();
    const b = open();
    const record = sessionRecord({ data: { start: 0 } });
    await a.sessions.create(record);
    expect(await b.sessions.get(record.id)).toEqual(record);
    // Per-key changes through two connections interleaved: both survive.
    await Promise.all([
      a.sessions.updateData(record.id, { set: { fromA: 1 } }),
      b.sessions.updateData(record.id, { set: { fromB: 2 } }),
    ]);
    expect((await a.sessions.get(record.id))?.data).toEqual({ start: 0, fromA: 1, fromB: 2 });
    expect(await b.sessions.delete(record.id)).toBe(true);
    expect(await a.sessions.touch(record.id, Date.now(), Date.now() + MINUTE)).toBe(false);
  });

  test('four processes opening a fresh file at the same moment all migrate and write', async () => {
    const run = promisify(execFile);
    const script = join(import.meta.dirname, 'fixtures', 'open-sqlite-store.ts');
    await Promise.all(
      Array.from({ length: 4 }, () =>
        run(process.execPath, ['--import', 'tsx', script, file], { timeout: 15_000 }),
      ),
    );
    const store = open();
    expect(store.database.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(await store.sessions.listByUser('user-race', Date.now())).toHaveLength(4);
  });
});

describe('sqlite store: sweep', () => {
  async function seed(store: SqliteStore, now: number) {
    for (let i = 0; i < 25; i++) {
      await store.sessions.create(
        sessionRecord({ idleExpiresAt: now - MINUTE + i, absoluteExpiresAt: now + MINUTE }),
      );
    }
    const live = [sessionRecord({ idleExpiresAt: now + MINUTE }), sessionRecord({ idleExpiresAt: now + 1 })];
    for (const record of live) await store.sessions.create(record);
    return live;
  }

  test('a full sweep deletes expired rows in batches of sweepBatch and leaves live rows', async () => {
    const clock = manualClock(Date.now());
    const store = open({ clock, sweepBatch: 7 });
    const live = await seed(store, clock.now());
    await store.counters.increment('ended', MINUTE, clock.now() - 2 * MINUTE);
    await store.counters.increment('running', MINUTE, clock.now());
    const batches = vi.spyOn(store.sessions, 'sweep');

    expect(await store.sweep()).toEqual({ sessions: 25, counters: 1 });
    expect(batches.mock.calls.map(([, limit]) => limit)).toEqual([7, 7, 7, 7]);
    expect(sessionCount(store)).toBe(2);
    for (const record of live) expect(await store.sessions.get(record.id)).toEqual(record);
    expect(await store.counters.get('running', clock.now())).toEqual({
      count: 1,
      resetAt: clock.now() + MINUTE,
    });
  });

  test('the sweep timer runs the batched sweep on its interval', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = manualClock(Date.now());
    const store = open({ clock, sweepIntervalMs: MINUTE, sweepBatch: 10 });
    await seed(store, clock.now());
    expect(sessionCount(store)).toBe(27);
    vi.advanceTimersByTime(MINUTE);
    await vi.waitFor(() => expect(sessionCount(store)).toBe(2));
  });
});

describe('sqlite store: failures are StoreErrors', () => {
  test('after close every operation rejects with StoreError code unavailable, not a driver error', async () => {
    const store = open();
    await store.close();
    await store.close(); // idempotent
    const calls: Promise<unknown>[] = [
      store.sessions.get('x'),
      store.sessions.create(sessionRecord()),
      store.sessions.touch('x', 1, 2),
      store.sessions.updateData('x', { set: { a: 1 } }),
      store.sessions.delete('x'),
      store.sessions.deleteByUser('u'),
      store.sessions.listByUser('u', 0),
      store.sessions.sweep(0, 1),
      store.sessions.ping(),
      store.users.getById('x'),
      store.users.list(),
      store.users.count(),
      store.counters.increment('k', 1, 0),
      store.counters.get('k', 0),
      store.counters.reset('k'),
    ];
    for (const call of calls) {
      await expect(call).rejects.toSatisfy(
        (error: unknown) =>
          error instanceof StoreError && error.code === 'unavailable' && error.cause !== undefined,
      );
    }
  });

  test('a failed write (read-only connection) is StoreError code unavailable; reads still work', async () => {
    const record = sessionRecord();
    const writer = open();
    await writer.sessions.create(record);
    await writer.close();

    const readonly = new Database(file, { readonly: true });
    try {
      const store = open({ database: readonly });
      expect(await store.sessions.get(record.id)).toEqual(record);
      await expect(store.sessions.create(sessionRecord())).rejects.toMatchObject({
        name: 'StoreError',
        code: 'unavailable',
      });
      await expect(store.counters.increment('k', MINUTE, 0)).rejects.toBeInstanceOf(StoreError);
      await expect(
        store.users.create(
          { username: 'x', usernameKey: 'x', displayName: 'X', passwordHash: 'h', roles: [] },
          0,
        ),
      ).rejects.toBeInstanceOf(StoreError);
      // The store does not own a connection it was given.
      await store.close();
      expect(readonly.open).toBe(true);
    } finally {
      readonly.close();
    }
  });

  test('ping resolves while the database answers', async () => {
    const store = open();
    await expect(store.sessions.ping()).resolves.toBeUndefined();
  });
});
