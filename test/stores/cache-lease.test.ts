// A listener can go silent without any error: a paused Redis or PostgreSQL (SIGSTOP here; a
// network partition in production) keeps its TCP connections open, so nothing says the
// invalidation connection is gone — and it hears no change either. The caches then stop
// answering once their lease runs out: LISTENER_LEASE_MS after the last heartbeat the server
// answered, never later. Each store gets its own paused server; reads are bounded by a short
// store timeout, so a read that reaches the paused server fails instead of hanging.
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, describe, expect, test } from 'vitest';
import { LISTENER_LEASE_MS } from '../../packages/cloakroom/src/stores/coherent-cache.js';
import { createPostgresStore } from '../../packages/cloakroom/src/stores/postgres/index.js';
import { createRedisStore } from '../../packages/cloakroom/src/stores/redis/index.js';
import { sessionRecord } from '../../packages/cloakroom/src/testing/session-fixtures.js';
import { NOW, newUser } from '../../packages/cloakroom/src/testing/user-fixtures.js';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server.js';
import { freePort, type RedisProcess, startRedisServer } from '../support/services.js';

/** What measuring the last answer may add to the lease on a loaded machine. */
const SLACK_MS = 150;

/**
 * Reads with `read` (each either a cache hit, or a failure once it reaches the paused server)
 * from the moment `pause` ran; returns when the last cache hit came, after the first failure.
 */
async function lastHitAfterPause(read: () => Promise<unknown>, hits: () => number, pause: () => void) {
  pause();
  const paused = performance.now();
  let lastHit = 0;
  for (;;) {
    const before = hits();
    const failed = await read().then(
      () => false,
      () => true,
    );
    if (hits() > before) lastHit = performance.now() - paused;
    if (failed) return lastHit;
    if (performance.now() - paused > LISTENER_LEASE_MS + 5_000)
      throw new Error('the cache kept answering long after its lease');
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

describe('a silent listener: the cache stops within its lease', () => {
  let redis: RedisProcess | undefined;
  let postgres: PostgresServer | undefined;
  const closers: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    if (redis) process.kill(redis.pid, 'SIGCONT');
    postgres?.resume();
    for (const close of closers.reverse()) await close().catch(() => {});
    await redis?.kill();
    await postgres?.remove();
  });

  test('Redis paused: cached sessions are served for at most the lease, then reads fail', async () => {
    redis = await startRedisServer(await freePort());
    const url = `redis://127.0.0.1:${redis.port}`;
    const client = createClient({ url, disableOfflineQueue: true });
    const invalidations = createClient({ url, RESP: 2, disableOfflineQueue: true });
    for (const c of [client, invalidations]) {
      c.on('error', () => {});
      await c.connect();
      closers.push(() => c.close().catch(() => c.destroy()));
    }
    const store = createRedisStore({ client, invalidations, timeout: 0.3 });
    closers.push(() => store.close());
    const record = sessionRecord();
    await store.sessions.create(record);
    const hits = () => store.cacheStats()!.sessions.hits;
    for (let i = 0; hits() < 3 && i < 500; i++) {
      await store.sessions.get(record.id);
      await new Promise<void>((resolve) => setTimeout(resolve, 5));
    }
    expect(hits()).toBeGreaterThanOrEqual(3);

    const pid = redis.pid;
    const lastHit = await lastHitAfterPause(
      () => store.sessions.get(record.id),
      hits,
      () => process.kill(pid, 'SIGSTOP'),
    );
    expect(lastHit).toBeLessThan(LISTENER_LEASE_MS + SLACK_MS);
    expect(store.cacheStats()!.sessions.listening).toBe(false);
  }, 30_000);

  test('PostgreSQL paused: cached users are served for at most the lease, then reads fail', async () => {
    postgres = await startPostgresServer(await freePort());
    const pool = new pg.Pool({ connectionString: postgres.url, max: 2 });
    pool.on('error', () => {});
    closers.push(() => pool.end());
    const url = postgres.url;
    // A store timeout longer than the lease: the heartbeat's own deadline would otherwise be
    // what stops the cache, and the lease would go untested.
    const store = await createPostgresStore({
      pool,
      timeout: 3,
      cache: { maxEntries: 100 },
      listener: () => new pg.Client({ connectionString: url }),
    });
    closers.push(() => store.close());
    const user = await store.users.create(newUser('ada'), NOW);
    const hits = () => store.cacheStats()!.users!.hits;
    for (let i = 0; hits() < 3 && i < 500; i++) {
      await store.users.getById(user.id);
      await new Promise<void>((resolve) => setTimeout(resolve, 5));
    }
    expect(hits()).toBeGreaterThanOrEqual(3);

    const cluster = postgres;
    const lastHit = await lastHitAfterPause(
      () => store.users.getById(user.id),
      hits,
      () => cluster.pause(),
    );
    expect(lastHit).toBeLessThan(LISTENER_LEASE_MS + SLACK_MS);
  }, 60_000);
});
