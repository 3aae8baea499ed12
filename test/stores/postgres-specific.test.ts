import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { ConfigError, StoreError } from '../../packages/cloakroom/src/core/errors.js';
import {
  createPostgresStore,
  MIGRATIONS,
  migrate,
} from '../../packages/cloakroom/src/stores/postgres/index.js';
import { HOUR, MINUTE, sessionRecord } from '../../packages/cloakroom/src/testing/session-fixtures.js';
import { freePort, requirePostgres } from '../support/services.js';

const database = await requirePostgres();
afterAll(() => database.drop());

const freshSchema = () => `t_${randomBytes(6).toString('hex')}`;
const scalar = async (sql: string, values: unknown[] = []) =>
  Object.values((await database.pool.query(sql, values)).rows[0] as object)[0];

describe('postgres store: migrations', () => {
  test('two instances migrating a fresh database at once both succeed, and each version is applied once', async () => {
    // Separate pools: two processes starting together, racing on the advisory lock.
    const other = new pg.Pool({ connectionString: database.url, max: 2 });
    try {
      const results = await Promise.all([
        migrate(database.pool),
        migrate(other),
        migrate(database.pool),
        migrate(other),
      ]);
      expect(results).toEqual([1, 1, 1, 1].map(() => MIGRATIONS.length));
    } finally {
      await other.end();
    }
    const versions = await database.pool.query(
      'SELECT version FROM public.cloakroom_migrations ORDER BY version',
    );
    expect(versions.rows).toEqual(MIGRATIONS.map((_, i) => ({ version: i + 1 })));
    expect(
      await scalar(
        `SELECT count(*)::int FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'cloakroom_%'`,
      ),
    ).toBe(4);
  });

  test('a schema of its own is created and holds every table; an existing one is left as it is', async () => {
    const schema = freshSchema();
    const store = await createPostgresStore({ pool: database.pool, schema, sweepIntervalMs: 0 });
    await store.close();
    const tables = await database.pool.query(
      'SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1',
      [schema],
    );
    expect(tables.rows.map((r: { tablename: string }) => r.tablename)).toEqual([
      'cloakroom_counters',
      'cloakroom_migrations',
      'cloakroom_sessions',
      'cloakroom_users',
    ]);
    expect(await migrate(database.pool, { schema })).toBe(MIGRATIONS.length);
  });

  test('a database migrated by a newer cloakroom is refused with a StoreError that says so', async () => {
    const schema = freshSchema();
    await migrate(database.pool, { schema });
    await database.pool.query(`INSERT INTO ${schema}.cloakroom_migrations VALUES (99, 0)`);
    await expect(migrate(database.pool, { schema })).rejects.toThrow(/version 99, newer than this cloakroom/);
    await expect(createPostgresStore({ pool: database.pool, schema })).rejects.toBeInstanceOf(StoreError);
  });

  test('times are BIGINT milliseconds (no time zone can shift a deadline), data is JSONB', async () => {
    const schema = freshSchema();
    await migrate(database.pool, { schema });
    const types = await database.pool.query(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'cloakroom_sessions' ORDER BY column_name`,
      [schema],
    );
    const byName = Object.fromEntries(
      types.rows.map((r: { column_name: string; data_type: string }) => [r.column_name, r.data_type]),
    );
    for (const column of [
      'created_at',
      'last_seen_at',
      'idle_expires_at',
      'absolute_expires_at',
      'expires_at',
    ]) {
      expect(byName[column]).toBe('bigint');
    }
    expect(byName.data).toBe('jsonb');
    const store = await createPostgresStore({
      pool: database.pool,
      schema,
      sweepIntervalMs: 0,
      migrate: false,
    });
    const far = Date.UTC(2199, 11, 31, 23, 59, 59, 999);
    const record = sessionRecord({ idleExpiresAt: far - HOUR, absoluteExpiresAt: far });
    await store.sessions.create(record);
    expect(await store.sessions.get(record.id)).toEqual(record);
  });

  test('get, listByUser and the sweep go through indexes', async () => {
    const schema = freshSchema();
    await migrate(database.pool, { schema });
    const client = await database.pool.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const plan = async (sql: string) =>
        (await client.query(`EXPLAIN ${sql}`)).rows
          .map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN'])
          .join('\n');
      const t = `${schema}.cloakroom_sessions`;
      expect(await plan(`SELECT data FROM ${t} WHERE id = 'x'`)).toMatch(
        /Index Scan using cloakroom_sessions_pkey/,
      );
      expect(await plan(`SELECT id FROM ${t} WHERE user_id = 'u' AND expires_at > 1`)).toMatch(
        /cloakroom_sessions_user_id/,
      );
      expect(await plan(`SELECT id FROM ${t} WHERE expires_at <= 1 ORDER BY expires_at LIMIT 5`)).toMatch(
        /cloakroom_sessions_expires_at/,
      );
    } finally {
      client.release();
    }
  });
});

describe('postgres store: sweep', () => {
  test('deletes expired sessions and ended counters in batches of sweepBatch, keeping live rows', async () => {
    const schema = freshSchema();
    const clock = manualClock(Date.now());
    const store = await createPostgresStore({
      pool: database.pool,
      schema,
      clock,
      sweepIntervalMs: 0,
      sweepBatch: 3,
    });
    const now = clock.now();
    for (let i = 0; i < 7; i++)
      await store.sessions.create(sessionRecord({ idleExpiresAt: now + MINUTE + i }));
    const live = sessionRecord({ idleExpiresAt: now + 3 * HOUR, absoluteExpiresAt: now + 4 * HOUR });
    await store.sessions.create(live);
    for (let i = 0; i < 4; i++) await store.counters.increment(`ip:${i}`, MINUTE, now);
    await store.counters.increment('ip:live', 3 * HOUR, now);

    expect(await store.sessions.sweep(now + HOUR, 3)).toBe(3);
    clock.set(now + HOUR);
    expect(await store.sweep()).toEqual({ sessions: 4, counters: 4 });
    expect(await store.sweep()).toEqual({ sessions: 0, counters: 0 });
    expect(await scalar(`SELECT count(*)::int FROM ${schema}.cloakroom_sessions`)).toBe(1);
    expect(await store.sessions.get(live.id)).toEqual(live);
    expect(await store.counters.get('ip:live', now + HOUR)).toEqual({ count: 1, resetAt: now + 3 * HOUR });
    await store.close();
  });

  test('the timer sweeps by itself, and close() stops it without ending the pool', async () => {
    const schema = freshSchema();
    const store = await createPostgresStore({ pool: database.pool, schema, sweepIntervalMs: 30 });
    const expired = sessionRecord({ idleExpiresAt: Date.now() - 1 });
    await store.sessions.create(expired);
    const deadline = Date.now() + 3_000;
    while ((await store.sessions.get(expired.id)) !== null) {
      if (Date.now() > deadline) throw new Error('the timed sweep never ran');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await store.close();
    const again = sessionRecord({ idleExpiresAt: Date.now() - 1 });
    await store.sessions.create(again);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await store.sessions.get(again.id)).not.toBeNull();
    expect(await scalar('SELECT 1 AS one')).toBe(1);
  });
});

describe('postgres store: fails closed', () => {
  test('PostgreSQL unreachable: every method rejects with StoreError unavailable, fast', async () => {
    const port = await freePort();
    const pool = new pg.Pool({ host: '127.0.0.1', port, user: 'postgres', connectionTimeoutMillis: 1_000 });
    pool.on('error', () => {});
    try {
      const started = Date.now();
      await expect(createPostgresStore({ pool })).rejects.toMatchObject({
        name: 'StoreError',
        code: 'unavailable',
      });
      const store = await createPostgresStore({ pool, migrate: false, sweepIntervalMs: 0 });
      const record = sessionRecord();
      const calls: Array<() => Promise<unknown>> = [
        () => store.sessions.get(record.id),
        () => store.sessions.create(record),
        () => store.sessions.touch(record.id, 1, 2),
        () => store.sessions.updateData(record.id, { set: { a: 1 } }),
        () => store.sessions.delete(record.id),
        () => store.sessions.deleteByUser(record.userId),
        () => store.sessions.listByUser(record.userId, Date.now()),
        () => store.users.getById('u'),
        () => store.users.getByUsername('ada'),
        () => store.users.list(),
        () => store.users.count(),
        () => store.counters.increment('k', MINUTE, Date.now()),
        () => store.counters.get('k', Date.now()),
        () => store.counters.reset('k'),
        () => store.ping(),
        () => store.sweep(),
      ];
      for (const call of calls) {
        const error = await call().then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StoreError);
        expect((error as StoreError).code).toBe('unavailable');
        expect((error as StoreError).cause).toBeInstanceOf(Error);
      }
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await pool.end();
    }
  });
});

describe('postgres store: options', () => {
  test('a schema name that is not a plain identifier is a ConfigError naming `schema`', async () => {
    await expect(
      createPostgresStore({ pool: database.pool, schema: 'x"; DROP TABLE y; --' }),
    ).rejects.toThrow(ConfigError);
    await expect(createPostgresStore({ pool: database.pool, sweepBatch: 0 })).rejects.toThrow(/sweepBatch/);
  });
});
