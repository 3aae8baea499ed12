import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server.js';
import { apiLogin, eventually, type ServerProcess, startServerProcess } from '../support/server-process.js';
import { freePort } from '../support/services.js';

// Kill the PostgreSQL under a running server (DATABASE_URL only: users AND sessions there), for
// real: every route that needs a session answers 503 — never 200, never a crash — /readyz is
// 503, /healthz stays 200; start PostgreSQL again on the same port and data directory and the
// same server process recovers by itself. The cluster is this file's own (initdb in a temp dir).
let postgres: PostgresServer;
let server: ServerProcess;
const ADMIN = { user: 'ops', password: 'survives a crash' };

beforeAll(async () => {
  postgres = await startPostgresServer(await freePort());
  server = await startServerProcess({
    DATABASE_URL: postgres.url,
    CLOAKROOM_ADMIN_USER: ADMIN.user,
    CLOAKROOM_ADMIN_PASSWORD: ADMIN.password,
  });
}, 90_000);

afterAll(async () => {
  await server?.stop();
  await postgres?.remove();
});

const status = async (path: string, init: RequestInit = {}) =>
  (await fetch(`${server.url}${path}`, { ...init, signal: AbortSignal.timeout(15_000) })).status;

describe('fail closed when PostgreSQL dies, recover when it returns', () => {
  test('kill -9 the postmaster: every session route 503, readyz 503, healthz 200, process alive; restart: recovers without a restart', async () => {
    const login = await apiLogin(server.url, ADMIN.user, ADMIN.password);
    expect(login.status).toBe(200);
    const cookie = { cookie: login.cookie };
    const unsafe = { ...cookie, 'x-csrf-token': login.csrf, 'content-type': 'application/json' };
    expect(await status('/api/session', { headers: cookie })).toBe(200);
    const sessions = (await (await fetch(`${server.url}/api/sessions`, { headers: cookie })).json()) as {
      sessions: Array<{ id: string }>;
    };
    const sessionId = sessions.sessions[0]?.id ?? 'none';

    await postgres.kill();
    const during = await Promise.all([
      status('/api/session', { headers: cookie }),
      status('/auth/verify', { headers: cookie }),
      status('/auth/verify?role=admin', { headers: cookie }),
      status('/api/sessions', { headers: cookie }),
      status('/api/admin/users', { headers: cookie }),
      status('/api/sessions/revoke-others', { method: 'POST', headers: unsafe }),
      status(`/api/sessions/${sessionId}`, { method: 'DELETE', headers: unsafe }),
      status('/api/profile', { method: 'PATCH', headers: unsafe, body: '{"displayName":"x"}' }),
      status('/api/logout', { method: 'POST', headers: unsafe }),
    ]);
    expect(during).toEqual(during.map(() => 503));
    const signIn = await apiLogin(server.url, ADMIN.user, ADMIN.password);
    expect(signIn.status).toBe(503);
    expect(signIn.cookie).toBe('');
    expect(await status('/readyz')).toBe(503);
    expect(await status('/healthz')).toBe(200);
    expect(server.child.exitCode).toBeNull();
    const body = await (await fetch(`${server.url}/api/session`, { headers: cookie })).text();
    expect(body).not.toMatch(/ECONNREFUSED|postgres|127\.0\.0\.1|stack/i);

    await postgres.restart();
    const took = await eventually(async () => (await status('/readyz')) === 200, 10_000);
    expect(took).toBeLessThan(10_000);
    // The data survived the crash: the same cookie is still signed in, on the same process.
    expect(await status('/api/session', { headers: cookie })).toBe(200);
    expect(await status('/auth/verify', { headers: cookie })).toBe(200);
    expect(server.child.exitCode).toBeNull();
  }, 90_000);
});
