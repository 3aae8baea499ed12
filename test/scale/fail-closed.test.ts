import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LISTENER_LEASE_MS } from '../../packages/cloakroom/src/stores/coherent-cache.js';
import { apiLogin, eventually, type ServerProcess, startServerProcess } from '../support/server-process.js';
import { freePort, type RedisProcess, startRedisServer } from '../support/services.js';

// Kill the Redis under a running server, for real: requests that need a session get 503 (never
// 200, never a crash), /readyz is 503, /healthz stays 200; start Redis again and the server
// recovers by itself. Redis persists with appendfsync always so the session survives the kill.
// The server's session cache may answer a read until it hears its invalidation connection close,
// and never past its lease (LISTENER_LEASE_MS after the last heartbeat Redis answered): a dead
// Redis can acknowledge no revocation meanwhile. After that, every session read is 503.
let port: number;
let dir: string;
let redis: RedisProcess;
let server: ServerProcess;
const ADMIN = { user: 'ops', password: 'survives an outage' };
const persistence = () => ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always'];

beforeAll(async () => {
  port = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'cloakroom-redis-'));
  redis = await startRedisServer(port, persistence());
  server = await startServerProcess({
    REDIS_URL: `redis://127.0.0.1:${port}`,
    CLOAKROOM_ADMIN_USER: ADMIN.user,
    CLOAKROOM_ADMIN_PASSWORD: ADMIN.password,
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await redis?.kill();
  rmSync(dir, { recursive: true, force: true });
});

const status = async (path: string, cookie?: string) =>
  (await fetch(`${server.url}${path}`, cookie ? { headers: { cookie } } : {})).status;

describe('fail closed when Redis dies, recover when it returns', () => {
  test('kill -9 Redis: 503 for session routes, readyz 503, healthz 200, process alive; restart: recovers without a restart', async () => {
    const login = await apiLogin(server.url, ADMIN.user, ADMIN.password);
    expect(login.status).toBe(200);
    expect(await status('/api/session', login.cookie)).toBe(200);

    await redis.kill();
    const killed = Date.now();
    for (;;) {
      const answer = await status('/auth/verify', login.cookie);
      if (answer === 503) break;
      expect(answer).toBe(200);
      expect(Date.now() - killed).toBeLessThan(LISTENER_LEASE_MS + 3_500);
    }
    const during = await Promise.all([
      status('/api/session', login.cookie),
      status('/auth/verify', login.cookie),
      status('/api/sessions', login.cookie),
    ]);
    expect(during).toEqual([503, 503, 503]);
    const logout = await fetch(`${server.url}/api/logout`, {
      method: 'POST',
      headers: { cookie: login.cookie, 'x-csrf-token': login.csrf },
    });
    expect(logout.status).toBe(503); // never a false success
    const signIn = await apiLogin(server.url, ADMIN.user, ADMIN.password);
    expect(signIn.status).toBe(503);
    expect(signIn.cookie).toBe('');
    expect(await status('/readyz')).toBe(503);
    expect(await status('/healthz')).toBe(200);
    expect(server.child.exitCode).toBeNull();
    const body = await (
      await fetch(`${server.url}/api/session`, { headers: { cookie: login.cookie } })
    ).text();
    expect(body).not.toMatch(/ECONNREFUSED|redis|127\.0\.0\.1|stack/i);

    redis = await startRedisServer(port, persistence());
    const took = await eventually(async () => (await status('/readyz')) === 200, 10_000);
    expect(took).toBeLessThan(10_000);
    expect(await status('/api/session', login.cookie)).toBe(200);
    expect(server.child.exitCode).toBeNull();
  }, 60_000);
});
