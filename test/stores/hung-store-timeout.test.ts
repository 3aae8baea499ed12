import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, describe, expect, test } from 'vitest';
import { StoreError } from '../../packages/cloakroom/src/core/errors.js';
import { createPostgresStore } from '../../packages/cloakroom/src/stores/postgres/index.js';
import type { RedisClientLike } from '../../packages/cloakroom/src/stores/redis/client.js';
import { createRedisStore } from '../../packages/cloakroom/src/stores/redis/index.js';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server.js';
import { freePort, type RedisProcess, startRedisServer } from '../support/services.js';

// The network stores' own `timeout` option, for library users (the server passes
// CLOAKROOM_STORE_TIMEOUT; test/scale/stalled-store.test.ts covers it end to end). A store
// process paused with SIGSTOP keeps its connections open and never answers: without a deadline
// the call would wait for ever, since neither driver gives up on a request already sent.

/** How a promise settled within `ms`: resolved, rejected with what, or still pending. */
async function settleWithin(promise: Promise<unknown>, ms: number) {
  const pending = Symbol('pending');
  const started = Date.now();
  const outcome = await Promise.race([
    promise.then(
      () => ({ resolved: true as const }),
      (error: unknown) => ({ rejected: error }),
    ),
    new Promise<typeof pending>((resolve) => setTimeout(() => resolve(pending), ms)),
  ]);
  return { outcome: outcome === pending ? 'pending' : outcome, ms: Date.now() - started };
}

describe('Redis store timeout', () => {
  let redis: RedisProcess | undefined;
  let client: ReturnType<typeof createClient> | undefined;
  afterAll(async () => {
    if (redis) process.kill(redis.pid, 'SIGCONT');
    client?.destroy();
    await redis?.kill();
  });

  test('a paused Redis: every call rejects StoreError unavailable within the timeout; timeout false waits; SIGCONT recovers', async () => {
    redis = await startRedisServer(await freePort());
    // As docs/scaling.md advises: no offline queue, node-redis' own command timeout off.
    client = createClient({
      url: `redis://127.0.0.1:${redis.port}`,
      disableOfflineQueue: true,
      commandOptions: { timeout: 0 },
    });
    client.on('error', () => {});
    await client.connect();
    const like = client as unknown as RedisClientLike;
    const bounded = createRedisStore({ client: like, prefix: 'hung-test:', timeout: 0.5 });
    const unbounded = createRedisStore({ client: like, prefix: 'hung-test:', timeout: false });
    expect(await bounded.sessions.get('x'.repeat(43))).toBeNull();

    process.kill(redis.pid, 'SIGSTOP');
    for (const call of [
      () => bounded.sessions.get('x'.repeat(43)),
      () => bounded.sessions.touch('x'.repeat(43), Date.now(), Date.now() + 1000),
      () => bounded.counters.increment('k', 60_000, Date.now()),
      () => bounded.ping(),
    ]) {
      const { outcome, ms } = await settleWithin(call(), 3_000);
      expect(outcome).toMatchObject({ rejected: expect.any(StoreError) });
      expect((outcome as { rejected: StoreError }).rejected.code).toBe('unavailable');
      expect(ms).toBeGreaterThanOrEqual(450);
      expect(ms).toBeLessThan(1_500);
    }
    const waiting = unbounded.sessions.get('y'.repeat(43));
    expect((await settleWithin(waiting, 1_500)).outcome).toBe('pending');

    process.kill(redis.pid, 'SIGCONT');
    // The unbounded call was only slow, never lost; the bounded store serves again.
    expect(await waiting).toBeNull();
    expect(await bounded.sessions.get('x'.repeat(43))).toBeNull();
    await bounded.ping();
  }, 30_000);

  test('the option is checked at start-up: a bad timeout is a ConfigError naming it', () => {
    const fake = { evalSha: () => {} } as unknown as RedisClientLike;
    expect(() => createRedisStore({ client: fake, timeout: -1 })).toThrow(/timeout/);
    expect(() => createRedisStore({ client: fake, timeout: 'soon' })).toThrow(/timeout/);
  });
});

describe('PostgreSQL store timeout', () => {
  let postgres: PostgresServer | undefined;
  let pool: pg.Pool | undefined;
  afterAll(async () => {
    postgres?.resume();
    await pool?.end().catch(() => {});
    await postgres?.remove();
  });

  test('a paused PostgreSQL: sessions, users, counters and ping reject StoreError unavailable within the timeout; resume recovers', async () => {
    postgres = await startPostgresServer(await freePort());
    pool = new pg.Pool({ connectionString: postgres.url, max: 4 });
    pool.on('error', () => {});
    const store = await createPostgresStore({ pool, timeout: 0.5, sweepIntervalMs: 0 });
    expect(await store.users.count()).toBe(0);

    postgres.pause();
    for (const call of [
      () => store.sessions.get('x'.repeat(43)),
      () => store.users.getById('00000000-0000-4000-8000-000000000000'),
      () => store.counters.get('k', Date.now()),
      () => store.ping(),
    ]) {
      const { outcome, ms } = await settleWithin(call(), 3_000);
      expect(outcome).toMatchObject({ rejected: expect.any(StoreError) });
      expect(ms).toBeLessThan(1_500);
    }

    postgres.resume();
    await expect.poll(() => store.users.count().catch(() => -1), { timeout: 10_000 }).toBe(0);
    await store.close();
  }, 60_000);
});
