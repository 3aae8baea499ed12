import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { apiLogin, type ServerProcess, startServerProcess } from '../support/server-process.js';
import {
  freePort,
  type PostgresDatabase,
  type RedisProcess,
  requirePostgres,
  startRedisServer,
} from '../support/services.js';

// Two server processes on one Redis (sessions, throttle counters) and one PostgreSQL (users):
// they must behave as one service. Both start at once with CLOAKROOM_ADMIN_*, racing to bootstrap.
let redis: RedisProcess;
let db: PostgresDatabase;
let a: ServerProcess;
let b: ServerProcess;
const ADMIN = { user: 'root-admin', password: 'two instances, one admin' };

beforeAll(async () => {
  redis = await startRedisServer(await freePort());
  db = await requirePostgres();
  const env = {
    REDIS_URL: `redis://127.0.0.1:${redis.port}`,
    DATABASE_URL: db.url,
    CLOAKROOM_ADMIN_USER: ADMIN.user,
    CLOAKROOM_ADMIN_PASSWORD: ADMIN.password,
  };
  [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.kill();
  await db?.drop();
});

async function get(url: string, path: string, cookie: string): Promise<number> {
  return (await fetch(`${url}${path}`, { headers: { cookie } })).status;
}

async function createUser(username: string, roles: string[] = []): Promise<string> {
  const admin = await apiLogin(a.url, ADMIN.user, ADMIN.password);
  const res = await fetch(`${a.url}/api/admin/users`, {
    method: 'POST',
    headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'a user password', roles }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { user: { id: string } }).user.id;
}

describe('two instances behave as one', () => {
  test('a concurrent first start with CLOAKROOM_ADMIN_* creates exactly one admin', async () => {
    const { rows } = await db.pool.query('SELECT username FROM cloakroom_users');
    expect(rows).toEqual([{ username: ADMIN.user }]);
    expect(a.logs.some((l) => l.stores === 'sessions=redis users=postgres')).toBe(true);
  });

  test('sign in on A, use the cookie on B', async () => {
    const login = await apiLogin(a.url, ADMIN.user, ADMIN.password);
    expect(login.status).toBe(200);
    expect(await get(b.url, '/api/session', login.cookie)).toBe(200);
    expect(await get(b.url, '/auth/verify?role=admin', login.cookie)).toBe(200);
  });

  test('sign out on B: A refuses the very next request', async () => {
    const login = await apiLogin(a.url, ADMIN.user, ADMIN.password);
    const out = await fetch(`${b.url}/api/logout`, {
      method: 'POST',
      headers: { cookie: login.cookie, 'x-csrf-token': login.csrf },
    });
    expect(out.status).toBe(204);
    expect(await get(a.url, '/api/session', login.cookie)).toBe(401);
  });

  test('lock on B: A refuses the very next request; a role change applies at once on both', async () => {
    const id = await createUser('carol');
    const carol = await apiLogin(a.url, 'carol', 'a user password');
    expect(await get(a.url, '/auth/verify?role=ops', carol.cookie)).toBe(403);
    const admin = await apiLogin(b.url, ADMIN.user, ADMIN.password);
    const patch = (body: object) =>
      fetch(`${b.url}/api/admin/users/${id}`, {
        method: 'PATCH',
        headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await patch({ roles: ['ops'] })).status).toBe(200);
    expect(await get(a.url, '/auth/verify?role=ops', carol.cookie)).toBe(200);
    expect((await patch({ locked: true })).status).toBe(200);
    expect(await get(a.url, '/api/session', carol.cookie)).toBe(401);
  });

  test('throttling counts across both: five failures alternating A/B, then 429 even with the right password', async () => {
    await createUser('dave');
    for (let i = 0; i < 5; i++) {
      expect((await apiLogin(i % 2 ? a.url : b.url, 'dave', `wrong ${i}`)).status).toBe(401);
    }
    const sixth = await fetch(`${a.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'dave', password: 'a user password' }),
    });
    expect(sixth.status).toBe(429);
    expect(Number(sixth.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
