import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { createSqliteStore, type SqliteStore } from '../../packages/cloakroom/src/stores/sqlite/index.js';
import { NOW, newUser, unlockedHolders } from '../../packages/cloakroom/src/testing/user-fixtures.js';

let dir: string;
let store: SqliteStore;
let child: ChildProcess | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloakroom-sqlite-keep-role-'));
  store = createSqliteStore({ path: join(dir, 'cloakroom.db'), sweepIntervalMs: 0 });
});

afterEach(async () => {
  child?.kill();
  child = undefined;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts another process that locks `userId` and holds its transaction open for `holdMs`. */
async function lockInOtherProcess(userId: string, holdMs: number): Promise<ChildProcess> {
  const script = join(import.meta.dirname, 'fixtures', 'lock-sqlite-user.ts');
  const started = spawn(
    process.execPath,
    ['--import', 'tsx', script, join(dir, 'cloakroom.db'), userId, `${holdMs}`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  child = started;
  const [line] = (await once(started.stdout!, 'data')) as [Buffer];
  expect(line.toString()).toBe('locked\n');
  return started;
}

test('keepRole waits for another process locking the other admin, then refuses: the check reads after the lock', async () => {
  const a = await store.users.create(newUser('admin-a', { roles: ['admin'] }), NOW);
  const b = await store.users.create(newUser('admin-b', { roles: ['admin'] }), NOW);
  const other = await lockInOtherProcess(b.id, 300);
  const exited = once(other, 'exit');

  // Blocks (busy_timeout) until the other process commits; a check made before taking the
  // write lock would still see admin-b unlocked and lock the last admin.
  expect(await store.users.update(a.id, { locked: true }, NOW + 1, { keepRole: 'admin' })).toBeNull();
  expect(await exited).toEqual([0, null]);
  expect(await unlockedHolders(store.users, 'admin')).toEqual(['admin-a']);
});
