// The PostgreSQL user store's read cache (getById) is never stale on this instance, and hears
// every other writer within a measured bound: a trigger notifies each change of a user row on
// `cloakroom_users`, and a dedicated connection (not from the pool) LISTENs. Races are forced
// with gates, never slept; the listener is killed with pg_terminate_backend.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { UserRecord } from '../../packages/cloakroom/src/auth/types.js';
import { ConfigError, type StoreError } from '../../packages/cloakroom/src/core/errors.js';
import {
  createPostgresStore,
  type PgPoolLike,
  type PostgresStore,
  type PostgresStoreOptions,
} from '../../packages/cloakroom/src/stores/postgres/index.js';
import { NOW, newUser } from '../../packages/cloakroom/src/testing/user-fixtures.js';
import { type PostgresDatabase, requirePostgres } from '../support/services.js';

let database: PostgresDatabase;
beforeAll(async () => {
  database = await requirePostgres();
});
afterAll(() => database.drop());

let open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.reverse()) await close().catch(() => {});
  open = [];
});

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const LISTENER_APP = 'cloakroom-cache-listener';

async function listening(store: PostgresStore, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!store.cacheStats()?.users.listening) {
    if (Date.now() > deadline) throw new Error('the user cache did not start listening');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A store on its own schema. `cached`: with the user cache and a listener connection made by
 * `makeListener` (by default a pg.Client named LISTENER_APP, so a test can find and kill it).
 */
async function storeOn(
  schema: string,
  options: Partial<PostgresStoreOptions> & { cached?: boolean; pool?: PgPoolLike } = {},
): Promise<PostgresStore> {
  const { cached = true, pool = database.pool, ...rest } = options;
  const store = await createPostgresStore({
    pool,
    schema,
    sweepIntervalMs: 0,
    timeout: false,
    ...(cached
      ? {
          listener: () => new pg.Client({ connectionString: database.url, application_name: LISTENER_APP }),
        }
      : {}),
    ...rest,
  });
  open.push(() => store.close());
  if (cached && rest.cache !== false) await listening(store);
  return store;
}

const freshSchema = () => `c_${randomBytes(6).toString('hex')}`;

/** Reads until a read was answered from memory. */
async function cached(store: PostgresStore, id: string): Promise<UserRecord> {
  for (let i = 0; i < 100; i++) {
    const before = store.cacheStats()!.users.hits;
    const user = await store.users.getById(id);
    if (user === null) throw new Error(`user ${id} not found`);
    if (store.cacheStats()!.users.hits > before) return user;
    await nextTurn();
  }
  throw new Error(`user ${id} never came from the cache`);
}

/** Reads on `store` (yielding to I/O) until `check` holds; the time it took. */
async function until(
  store: PostgresStore,
  id: string,
  check: (user: UserRecord | null) => boolean,
  limitMs: number,
): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (check(await store.users.getById(id))) return performance.now() - start;
    const spent = performance.now() - start;
    if (spent > limitMs)
      throw new Error(`the change was not seen ${spent.toFixed(1)} ms after it was acknowledged`);
    await nextTurn();
  }
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

describe('postgres user cache: this instance', () => {
  test('own writes are seen by the very next read: roles, lock, epoch, password', async () => {
    const store = await storeOn(freshSchema());
    const user = await store.users.create(newUser('ada'), NOW);
    for (let round = 1; round <= 30; round++) {
      await cached(store, user.id);
      await store.users.update(user.id, { roles: [`r${round}`] }, NOW + round);
      expect((await store.users.getById(user.id))!.roles).toEqual([`r${round}`]);
      await cached(store, user.id);
      await store.users.update(user.id, { locked: round % 2 === 1 }, NOW + round);
      expect((await store.users.getById(user.id))!.locked).toBe(round % 2 === 1);
      await cached(store, user.id);
      await store.users.update(user.id, { advanceEpoch: true }, NOW + round);
      expect((await store.users.getById(user.id))!.epoch).toBe(round);
      await cached(store, user.id);
      await store.users.update(user.id, { passwordHash: `hash-${round}` }, NOW + round, {
        keepRole: `r${round}`,
      });
      // keepRole refused (ada is the only holder, and she would stay one): nothing changed.
      await store.users.update(user.id, { passwordHash: `hash-${round}` }, NOW + round);
      expect((await store.users.getById(user.id))!.passwordHash).toBe(`hash-${round}`);
    }
    expect(store.cacheStats()!.users.hits).toBeGreaterThanOrEqual(120);
  });

  test('own second-factor writes are seen by the very next read: set, compare-and-set, remove', async () => {
    const store = await storeOn(freshSchema());
    const user = await store.users.create(newUser('ada'), NOW);
    for (let round = 1; round <= 10; round++) {
      expect((await cached(store, user.id)).secondFactor).toBeNull();
      await store.users.update(user.id, { secondFactor: `doc-${round}` }, NOW + round, {
        ifSecondFactor: null,
      });
      expect((await store.users.getById(user.id))!.secondFactor).toBe(`doc-${round}`);
      expect((await cached(store, user.id)).secondFactor).toBe(`doc-${round}`);
      await store.users.update(user.id, { secondFactor: null }, NOW + round, {
        ifSecondFactor: `doc-${round}`,
      });
      expect((await store.users.getById(user.id))!.secondFactor).toBeNull();
    }
  });

  test('a cached user is a copy', async () => {
    const store = await storeOn(freshSchema());
    const user = await store.users.create(newUser('ada', { roles: ['admin'] }), NOW);
    const first = await cached(store, user.id);
    first.roles.push('root');
    first.locked = true;
    const again = await cached(store, user.id);
    expect(again.roles).toEqual(['admin']);
    expect(again.locked).toBe(false);
  });

  test('null is never cached; a user created elsewhere is found at once', async () => {
    const schema = freshSchema();
    const a = await storeOn(schema);
    const other = await storeOn(schema, { cached: false });
    expect(await a.users.getById('00000000-0000-0000-0000-000000000000')).toBeNull();
    const user = await other.users.create(newUser('bob'), NOW);
    expect(await a.users.getById(user.id)).toMatchObject({ username: 'bob' });
  });

  test('cache without listener is a ConfigError', async () => {
    await expect(
      createPostgresStore({ pool: database.pool, schema: freshSchema(), cache: { maxEntries: 5 } }),
    ).rejects.toThrow(ConfigError);
  });
});

describe('postgres user cache: another writer', () => {
  test('a role change, lock or epoch advance from another pool is seen within 1 s (600 trials under load)', async () => {
    const schema = freshSchema();
    const a = await storeOn(schema);
    const otherPool = new pg.Pool({ connectionString: database.url, max: 4 });
    otherPool.on('error', () => {});
    open.push(() => otherPool.end());
    const b = await storeOn(schema, { cached: false, pool: otherPool });
    const users = [];
    for (let i = 0; i < 20; i++) users.push(await b.users.create(newUser(`user${i}`), NOW));
    // Background writes of other users (each one a notification A handles) and reads on A.
    const loaders = [];
    for (let i = 0; i < 10; i++) loaders.push(await b.users.create(newUser(`load${i}`), NOW));
    let loading = true;
    const background = (async () => {
      for (let i = 0; loading; i++) {
        const u = loaders[i % loaders.length]!;
        await Promise.all([b.users.update(u.id, { displayName: `L${i}` }, NOW), a.users.getById(u.id)]);
      }
    })();
    const windows: number[] = [];
    try {
      for (let trial = 0; trial < 600; trial++) {
        const user = users[trial % users.length]!;
        const before = await cached(a, user.id);
        const kind = trial % 3;
        if (kind === 0) await b.users.update(user.id, { roles: [`role${trial}`] }, NOW);
        else if (kind === 1) await b.users.update(user.id, { locked: !before.locked }, NOW);
        else await b.users.update(user.id, { advanceEpoch: true }, NOW);
        windows.push(
          await until(
            a,
            user.id,
            (u) =>
              kind === 0
                ? u!.roles[0] === `role${trial}`
                : kind === 1
                  ? u!.locked !== before.locked
                  : u!.epoch === before.epoch + 1,
            1_000,
          ),
        );
      }
    } finally {
      loading = false;
      await background;
    }
    windows.sort((x, y) => x - y);
    const figures = {
      p50: percentile(windows, 50).toFixed(3),
      p99: percentile(windows, 99).toFixed(3),
      max: windows.at(-1)!.toFixed(3),
    };
    console.log(
      `postgres: change committed by another pool → seen on A, ms over ${windows.length} trials`,
      figures,
    );
    expect(windows.at(-1)!).toBeLessThan(1_000);
    expect(a.cacheStats()!.users.hits).toBeGreaterThan(600);
  }, 120_000);

  test('plain SQL (psql, a script) is heard too: UPDATE, DELETE, TRUNCATE', async () => {
    const schema = freshSchema();
    const a = await storeOn(schema);
    const ada = await a.users.create(newUser('ada'), NOW);
    const bob = await a.users.create(newUser('bob'), NOW);
    await cached(a, ada.id);
    await database.pool.query(`UPDATE "${schema}".cloakroom_users SET locked = true WHERE id = $1`, [ada.id]);
    await until(a, ada.id, (u) => u!.locked, 1_000);
    await cached(a, ada.id);
    // One column alone, not even updated_at: the trigger fires on any UPDATE of the row.
    await database.pool.query(`UPDATE "${schema}".cloakroom_users SET second_factor = 'doc' WHERE id = $1`, [
      ada.id,
    ]);
    await until(a, ada.id, (u) => u!.secondFactor === 'doc', 1_000);
    await cached(a, ada.id);
    await database.pool.query(`DELETE FROM "${schema}".cloakroom_users WHERE id = $1`, [ada.id]);
    await until(a, ada.id, (u) => u === null, 1_000);
    await cached(a, bob.id);
    await database.pool.query(`TRUNCATE "${schema}".cloakroom_users`);
    await until(a, bob.id, (u) => u === null, 1_000);
  });

  test("another schema's changes do not touch this cache", async () => {
    const a = await storeOn(freshSchema());
    const other = await storeOn(freshSchema(), { cached: false });
    const ada = await a.users.create(newUser('ada'), NOW);
    await cached(a, ada.id);
    const flushes = a.cacheStats()!.users.flushes;
    const bob = await other.users.create(newUser('bob'), NOW);
    await other.users.update(bob.id, { locked: true }, NOW);
    await cached(a, ada.id);
    expect(a.cacheStats()!.users.flushes).toBe(flushes);
  });
});

describe('postgres user cache: the fill race', () => {
  test("a reply that raced another writer's change is not cached", async () => {
    const schema = freshSchema();
    // A pool whose next SELECT by id pauses after PostgreSQL answered, until released.
    let armed = false;
    let replied: () => void = () => {};
    let release: () => void = () => {};
    const gatedPool: PgPoolLike = {
      connect: () => database.pool.connect(),
      async query(query) {
        const result = await database.pool.query(query);
        if (armed && /WHERE id = \$1$/.test(query.text)) {
          armed = false;
          const gate = new Promise<void>((resolve) => {
            release = resolve;
          });
          replied();
          await gate;
        }
        return result;
      },
    };
    let notified: () => void = () => {};
    const a = await storeOn(schema, {
      pool: gatedPool,
      listener: () => {
        const client = new pg.Client({ connectionString: database.url });
        // Registered before the store's own listener; signals once every listener ran.
        client.on('notification', () => queueMicrotask(() => notified()));
        return client;
      },
    });
    const other = await storeOn(schema, { cached: false });
    const user = await other.users.create(newUser('ada'), NOW);
    const heardNext = () =>
      new Promise<void>((resolve) => {
        notified = resolve;
      });
    for (let round = 1; round <= 20; round++) {
      // Not cached now (so the read below goes to PostgreSQL): a change A hears drops it.
      const dropped = heardNext();
      await other.users.update(user.id, { displayName: `Ada ${round}` }, NOW);
      await dropped;
      const paused = new Promise<void>((resolve) => {
        replied = resolve;
      });
      armed = true;
      const read = a.users.getById(user.id);
      await paused; // A's SELECT answered with the current row, not yet handed back
      const heard = heardNext();
      await other.users.update(user.id, { advanceEpoch: true }, NOW);
      await heard; // A's listener handled the notification
      release();
      expect((await read)!.epoch).toBe(round - 1); // the read began before the change
      expect((await a.users.getById(user.id))!.epoch).toBe(round);
    }
  });
});

describe('postgres user cache: the listener goes away', () => {
  test('pg_terminate_backend under load: no cache while down, flushed and right once back', async () => {
    const schema = freshSchema();
    let down = false;
    const errors: StoreError[] = [];
    const a = await storeOn(schema, {
      // While `down`, new listener connections go nowhere (a closed port): they fail.
      listener: () =>
        new pg.Client(
          down
            ? { host: '127.0.0.1', port: 1, connectionTimeoutMillis: 500 }
            : { connectionString: database.url, application_name: LISTENER_APP },
        ),
      onCacheError: (error) => errors.push(error),
    });
    const other = await storeOn(schema, { cached: false });
    const users: UserRecord[] = [];
    for (let i = 0; i < 10; i++) users.push(await other.users.create(newUser(`user${i}`), NOW));
    let reading = true;
    let reads = 0;
    const readers = Array.from({ length: 3 }, async () => {
      for (let i = 0; reading; i++) {
        await a.users.getById(users[i % users.length]!.id);
        reads++;
        await nextTurn();
      }
    });
    for (let round = 0; round < 3; round++) {
      for (const user of users) await cached(a, user.id);
      down = true;
      const { rows } = await database.pool.query(
        'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND datname = $2',
        [LISTENER_APP, database.name],
      );
      expect(rows).toHaveLength(1);
      await until(a, users[0]!.id, () => !a.cacheStats()!.users.listening, 1_000);
      // Nobody tells A now: each change must be seen by A's very next read.
      for (const user of users) {
        await other.users.update(user.id, { advanceEpoch: true }, NOW);
        expect((await a.users.getById(user.id))!.epoch).toBe(round + 1);
      }
      down = false;
      await listening(a);
      expect(a.cacheStats()!.users.size).toBeLessThanOrEqual(users.length);
      for (const user of users) expect((await cached(a, user.id)).epoch).toBe(round + 1);
      // And it hears again.
      await other.users.update(users[0]!.id, { locked: true }, NOW);
      await until(a, users[0]!.id, (u) => u!.locked, 1_000);
      await other.users.update(users[0]!.id, { locked: false }, NOW);
    }
    reading = false;
    await Promise.all(readers);
    expect(reads).toBeGreaterThan(100);
    expect(errors.length).toBeGreaterThan(0);
  }, 60_000);
});
