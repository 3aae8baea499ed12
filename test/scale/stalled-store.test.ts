import { afterAll, describe, expect, test } from 'vitest';
import { LISTENER_LEASE_MS } from '../../packages/cloakroom/src/stores/coherent-cache.js';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server.js';
import { apiLogin, eventually, type ServerProcess, startServerProcess } from '../support/server-process.js';
import { freePort, type RedisProcess, startRedisServer } from '../support/services.js';

// A store that hangs — its process paused with SIGSTOP: the TCP connections stay open, the
// kernel accepts every byte, nothing ever answers — must look like a store that is down:
// 503 within CLOAKROOM_STORE_TIMEOUT (default 2 s), /readyz 503 within its 1 s cap, /healthz
// 200, the process alive; SIGCONT and the same process serves again. Regression: requests used
// to hang for 20 s and more (node-redis' command timeout stops once a command is written; pg
// had no query timeout; /readyz had no limit of its own). With the Redis session cache on (the
// server's default), a session read may be answered from memory until the cache's lease runs
// out (LISTENER_LEASE_MS after the last heartbeat Redis answered): the invalidation connection
// looks open to a paused Redis, so only the unanswered heartbeats tell.
const ADMIN = { user: 'ops', password: 'survives a stall' };
/** The default store timeout (2 s) plus what a loaded CI machine may add. */
const STORE_BOUND_MS = 3_500;
/** The /readyz cap (1 s) plus the same slack. */
const READY_BOUND_MS = 2_000;

interface Answer {
  status: number;
  ms: number;
}

async function request(server: ServerProcess, path: string, init: RequestInit = {}): Promise<Answer> {
  const start = Date.now();
  // The signal only keeps a hanging server from hanging the test: the bound is asserted below.
  const res = await fetch(`${server.url}${path}`, { ...init, signal: AbortSignal.timeout(15_000) });
  await res.arrayBuffer();
  return { status: res.status, ms: Date.now() - start };
}

/** Pauses the store under a signed-in server, checks it fails closed in time, resumes it. */
async function stallAndRecover(server: ServerProcess, pause: () => void, resume: () => void) {
  const login = await apiLogin(server.url, ADMIN.user, ADMIN.password);
  expect(login.status).toBe(200);
  const withCookie = { headers: { cookie: login.cookie } };
  expect((await request(server, '/api/session', withCookie)).status).toBe(200);

  pause();
  try {
    // Until the lease runs out the cache may answer; then reads go to the hung store: 503.
    const paused = Date.now();
    for (;;) {
      const answer = await request(server, '/auth/verify', withCookie);
      if (answer.status === 503) break;
      expect(answer.status).toBe(200);
      expect(Date.now() - paused).toBeLessThan(LISTENER_LEASE_MS + STORE_BOUND_MS);
    }
    expect(Date.now() - paused).toBeLessThan(LISTENER_LEASE_MS + STORE_BOUND_MS);
    const during = await Promise.all([
      request(server, '/api/session', withCookie),
      request(server, '/auth/verify', withCookie),
      request(server, '/api/sessions', withCookie),
      request(server, '/api/logout', {
        method: 'POST',
        headers: { cookie: login.cookie, 'x-csrf-token': login.csrf },
      }),
    ]);
    expect(during.map((a) => a.status)).toEqual([503, 503, 503, 503]);
    for (const answer of during) expect(answer.ms).toBeLessThan(STORE_BOUND_MS);
    const ready = await request(server, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(READY_BOUND_MS);
    expect((await request(server, '/healthz')).status).toBe(200);
    // Still paused, a second round is bounded the same way (nothing piles up).
    const again = await request(server, '/api/session', withCookie);
    expect(again.status).toBe(503);
    expect(again.ms).toBeLessThan(STORE_BOUND_MS);
    expect(server.child.exitCode).toBeNull();
  } finally {
    resume();
  }

  const took = await eventually(async () => (await request(server, '/readyz')).status === 200, 15_000);
  expect(took).toBeLessThan(15_000);
  // A fresh sign-in works on the same process. (The old cookie's fate is unknown on purpose: the
  // sign-out that answered 503 was already on its way and may take effect once the store resumes.)
  const fresh = await apiLogin(server.url, ADMIN.user, ADMIN.password);
  expect(fresh.status).toBe(200);
  expect((await request(server, '/api/session', { headers: { cookie: fresh.cookie } })).status).toBe(200);
  expect(server.child.exitCode).toBeNull();
}

describe('a hung Redis (SIGSTOP) answers 503 within the store timeout', () => {
  let redis: RedisProcess | undefined;
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
    if (redis) process.kill(redis.pid, 'SIGCONT');
    await redis?.kill();
  });

  test('SIGSTOP Redis: session routes 503 in < 3.5 s, readyz 503 in < 2 s, healthz 200; SIGCONT: recovers without a restart', async () => {
    redis = await startRedisServer(await freePort());
    server = await startServerProcess({
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      CLOAKROOM_ADMIN_USER: ADMIN.user,
      CLOAKROOM_ADMIN_PASSWORD: ADMIN.password,
    });
    const pid = redis.pid;
    await stallAndRecover(
      server,
      () => process.kill(pid, 'SIGSTOP'),
      () => process.kill(pid, 'SIGCONT'),
    );
  }, 90_000);
});

describe('a hung PostgreSQL (SIGSTOP) answers 503 within the store timeout', () => {
  let postgres: PostgresServer | undefined;
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
    postgres?.resume();
    await postgres?.remove();
  });

  test('SIGSTOP PostgreSQL: session routes 503 in < 3.5 s, readyz 503 in < 2 s, healthz 200; SIGCONT: recovers without a restart', async () => {
    postgres = await startPostgresServer(await freePort());
    server = await startServerProcess({
      DATABASE_URL: postgres.url,
      CLOAKROOM_ADMIN_USER: ADMIN.user,
      CLOAKROOM_ADMIN_PASSWORD: ADMIN.password,
    });
    const cluster = postgres;
    await stallAndRecover(
      server,
      () => cluster.pause(),
      () => cluster.resume(),
    );
  }, 90_000);
});
