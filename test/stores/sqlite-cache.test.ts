// The SQLite store's read cache is never stale. Rows read by id stay in memory, and every read
// first asks SQLite whether another connection committed since (`PRAGMA data_version`): a
// change made by another connection — another store on the same file here, the CLI in another
// process in test/cli — is seen by the very next read after its commit. Each test first proves
// the cache is in use (hits counted), or it would pass without one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ConfigError } from '../../packages/cloakroom/src/core/errors.js';
import { createSqliteStore, type SqliteStore } from '../../packages/cloakroom/src/stores/sqlite/index.js';
import { sessionRecord } from '../../packages/cloakroom/src/testing/session-fixtures.js';
import { NOW, newUser } from '../../packages/cloakroom/src/testing/user-fixtures.js';

let dir: string;
let open: SqliteStore[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloakroom-sqlite-cache-'));
  open = [];
});
afterEach(async () => {
  for (const store of open) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const storeOn = (options: Parameters<typeof createSqliteStore>[0] = {}): SqliteStore => {
  const store = createSqliteStore({ path: join(dir, 'app.db'), sweepIntervalMs: 0, ...options });
  open.push(store);
  return store;
};

/** Reads `n` times, so a cached row is certainly served from memory. */
async function warm(read: () => Promise<unknown>, n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await read();
}

describe('sqlite read cache: coherent with other connections on the same file', () => {
  test('a session deleted by another connection is gone on the next read, round after round', async () => {
    const server = storeOn();
    const other = storeOn({ cache: false });
    for (let round = 0; round < 50; round++) {
      const record = sessionRecord({ userId: `user-${round}` });
      await other.sessions.create(record);
      await warm(() => server.sessions.get(record.id));
      expect(await server.sessions.get(record.id)).toMatchObject({ id: record.id });
      if (round % 2 === 0) await other.sessions.delete(record.id);
      else await other.sessions.deleteByUser(record.userId);
      expect(await server.sessions.get(record.id)).toBeNull();
    }
    const stats = server.cacheStats()!;
    expect(stats.sessions.hits).toBeGreaterThanOrEqual(50 * 3);
    expect(stats.sessions.flushes).toBeGreaterThanOrEqual(50);
  });

  test("another connection's lock, role change and epoch advance are seen on the next read", async () => {
    const server = storeOn();
    const other = storeOn({ cache: false });
    const user = await other.users.create(newUser('ada', { roles: ['admin'] }), NOW);
    const read = () => server.users.getById(user.id);
    await warm(read);
    const hitsBefore = server.cacheStats()!.users.hits;
    expect(hitsBefore).toBeGreaterThanOrEqual(2);

    await other.users.update(user.id, { roles: [] }, NOW + 1);
    expect((await read())?.roles).toEqual([]);
    await warm(read);
    await other.users.update(user.id, { locked: true }, NOW + 2);
    expect((await read())?.locked).toBe(true);
    await warm(read);
    await other.users.update(user.id, { advanceEpoch: true }, NOW + 3);
    expect((await read())?.epoch).toBe(user.epoch + 1);
    expect(server.cacheStats()!.users.hits).toBeGreaterThan(hitsBefore);
  });

  test("the user's second factor is carried: a change by another connection (also raw SQL, of that column alone) is seen on the next read", async () => {
    const server = storeOn();
    const other = storeOn({ cache: false });
    const user = await other.users.create(newUser('ada'), NOW);
    const read = () => server.users.getById(user.id);
    await warm(read);
    const hitsBefore = server.cacheStats()!.users.hits;
    expect((await read())?.secondFactor).toBeNull();
    expect(server.cacheStats()!.users.hits).toBeGreaterThan(hitsBefore);

    await other.users.update(user.id, { secondFactor: '{"totp":1}' }, NOW + 1, { ifSecondFactor: null });
    expect((await read())?.secondFactor).toBe('{"totp":1}');
    await warm(read);
    expect((await read())?.secondFactor).toBe('{"totp":1}');
    other.database.prepare('UPDATE users SET second_factor = ? WHERE id = ?').run('{"totp":2}', user.id);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect((await read())?.secondFactor).toBe('{"totp":2}');
    await warm(read);
    await server.users.update(user.id, { secondFactor: null }, NOW + 2);
    expect((await read())?.secondFactor).toBeNull();
  });

  test('a cached session hands out its own methods array on every hit', async () => {
    const server = storeOn();
    const record = sessionRecord({ methods: ['pwd', 'otp'] });
    await server.sessions.create(record);
    await warm(() => server.sessions.get(record.id));
    const hitsBefore = server.cacheStats()!.sessions.hits;
    const first = (await server.sessions.get(record.id))!;
    first.methods.push('changed');
    const again = (await server.sessions.get(record.id))!;
    expect(server.cacheStats()!.sessions.hits).toBe(hitsBefore + 2);
    expect(again.methods).toEqual(['pwd', 'otp']);
    expect(again.methods).not.toBe(first.methods);
    expect(again.authenticatedAt).toBe(record.authenticatedAt);
  });

  test('a write by any other writer (raw SQL, as another process makes it) is seen from the next turn of the event loop', async () => {
    const server = storeOn();
    const other = storeOn({ cache: false });
    const user = await other.users.create(newUser('eve', { roles: ['admin'] }), NOW);
    const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
    for (let round = 0; round < 20; round++) {
      const record = sessionRecord({ userId: user.id });
      await other.sessions.create(record);
      await nextTurn();
      await warm(() => server.sessions.get(record.id));
      await warm(() => server.users.getById(user.id));
      // Not through a store: nothing in this process is told; only the file changes.
      other.database.prepare('DELETE FROM sessions WHERE id = ?').run(record.id);
      other.database
        .prepare('UPDATE users SET roles = ? WHERE id = ?')
        .run(JSON.stringify([`r${round}`]), user.id);
      await nextTurn();
      expect(await server.sessions.get(record.id)).toBeNull();
      expect((await server.users.getById(user.id))?.roles).toEqual([`r${round}`]);
    }
    expect(server.cacheStats()!.sessions.hits).toBeGreaterThan(0);
    expect(server.cacheStats()!.users.hits).toBeGreaterThan(0);
  });

  test('a write through the store itself is seen at once (data_version does not move for its own writes)', async () => {
    const server = storeOn();
    const user = await server.users.create(newUser('bob'), NOW);
    const record = sessionRecord({ userId: user.id });
    await server.sessions.create(record);
    await warm(() => server.sessions.get(record.id));
    await warm(() => server.users.getById(user.id));

    await server.users.update(user.id, { roles: ['editor'], locked: true }, NOW + 1);
    expect(await server.users.getById(user.id)).toMatchObject({ roles: ['editor'], locked: true });
    await server.sessions.updateData(record.id, { set: { theme: 'dark' } });
    expect((await server.sessions.get(record.id))?.data).toEqual({ theme: 'dark' });
    const later = Date.now() + 60_000;
    await server.sessions.touch(record.id, later, later + 60_000);
    expect((await server.sessions.get(record.id))?.lastSeenAt).toBe(later);
    await warm(() => server.sessions.get(record.id));
    await server.sessions.deleteByUser(user.id);
    expect(await server.sessions.get(record.id)).toBeNull();
    const again = sessionRecord({ userId: user.id });
    await server.sessions.create(again);
    await warm(() => server.sessions.get(again.id));
    await server.sessions.delete(again.id);
    expect(await server.sessions.get(again.id)).toBeNull();
    expect(server.cacheStats()!.sessions.hits).toBeGreaterThan(0);
  });

  test('a row read inside a transaction that rolls back is not kept', async () => {
    const server = storeOn();
    const user = await server.users.create(newUser('cy', { roles: ['admin'] }), NOW);
    await warm(() => server.users.getById(user.id));
    server.database.exec('BEGIN');
    await server.users.update(user.id, { roles: ['intruder'] }, NOW + 1);
    expect((await server.users.getById(user.id))?.roles).toEqual(['intruder']);
    server.database.exec('ROLLBACK');
    expect((await server.users.getById(user.id))?.roles).toEqual(['admin']);
    await warm(() => server.users.getById(user.id));
    expect((await server.users.getById(user.id))?.roles).toEqual(['admin']);
  });

  test('every caller gets its own copy: changing a returned record changes no later read', async () => {
    const server = storeOn();
    const record = sessionRecord({ data: { cart: ['a'] } });
    await server.sessions.create(record);
    await warm(() => server.sessions.get(record.id));
    const first = (await server.sessions.get(record.id))!;
    first.userId = 'someone-else';
    (first.data.cart as string[]).push('b');
    const user = await server.users.create(newUser('dee'), NOW);
    await warm(() => server.users.getById(user.id));
    (await server.users.getById(user.id))!.roles.push('admin');
    expect(await server.sessions.get(record.id)).toMatchObject({
      userId: record.userId,
      data: { cart: ['a'] },
    });
    expect((await server.users.getById(user.id))?.roles).toEqual(['user']);
  });
});

describe('sqlite read cache: bounded and measured', () => {
  test('holds at most maxEntries rows per cache, evicting the oldest, and counts what it does', async () => {
    const server = storeOn({ cache: { maxEntries: 10 } });
    const records = Array.from({ length: 25 }, () => sessionRecord());
    for (const record of records) await server.sessions.create(record);
    for (const record of records) await server.sessions.get(record.id);
    let stats = server.cacheStats()!.sessions;
    expect(stats).toMatchObject({ size: 10, maxEntries: 10, evictions: 15, misses: 25, hits: 0 });
    // The newest ten are served from memory, the oldest go to the file again.
    for (const record of records.slice(-10)) await server.sessions.get(record.id);
    expect(server.cacheStats()!.sessions.hits).toBe(10);
    await server.sessions.get(records[0]!.id);
    stats = server.cacheStats()!.sessions;
    expect(stats).toMatchObject({ size: 10, hits: 10, misses: 26 });
    expect(await server.sessions.get('no-such-id')).toBeNull();
    expect(server.cacheStats()!.sessions.size).toBe(10);
  });

  test('cache: false (or maxEntries 0) reads the file every time; a bad bound is a ConfigError', async () => {
    expect(storeOn({ cache: false }).cacheStats()).toBeNull();
    expect(storeOn({ cache: { maxEntries: 0 } }).cacheStats()).toBeNull();
    expect(() => createSqliteStore({ path: ':memory:', cache: { maxEntries: -1 } })).toThrow(ConfigError);
    expect(() => createSqliteStore({ path: ':memory:', cache: { maxEntries: 1.5 } })).toThrow(
      /cache\.maxEntries/,
    );
  });
});
