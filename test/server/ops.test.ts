import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { jsonOf, PASSWORD, type ServerHarness, startHarness, TEST_SECRET } from '../support/server.js';

let h: ServerHarness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => h.close());

describe('health, readiness and metrics', () => {
  test('/healthz and /readyz answer 200 while the store is up', async () => {
    const health = await h.fetch('/healthz');
    expect(health.status).toBe(200);
    expect(await jsonOf(health)).toEqual({ status: 'ok' });
    const ready = await h.fetch('/readyz');
    expect(ready.status).toBe(200);
    expect(await jsonOf(ready)).toEqual({ status: 'ready' });
  });

  test('/metrics is Prometheus text with the cloakroom counters and no secret, token or cookie value', async () => {
    const alice = await h.login('alice');
    await h.fetch('/api/login', { json: { username: 'alice', password: 'wrong password!' } });
    await h.fetch('/api/session', { cookie: alice.cookie });
    await h.fetch('/api/logout', { method: 'POST', cookie: alice.cookie });
    const res = await h.fetch('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^# HELP cloakroom_logins_total /m);
    expect(text).toMatch(/^# TYPE cloakroom_logins_total counter$/m);
    expect(text).toMatch(/^cloakroom_logins_total\{outcome="success"\} 1$/m);
    expect(text).toMatch(/^cloakroom_logins_total\{outcome="invalid_credentials"\} 1$/m);
    expect(text).toMatch(/^cloakroom_csrf_refusals_total\{reason="missing-token"\} 1$/m);
    expect(text).toContain('cloakroom_session_validations_total');
    const [token, signature] = alice.cookie.split('=')[1]!.split('.');
    for (const secret of [TEST_SECRET, token!, signature!, alice.csrf, PASSWORD, 'alice']) {
      expect(text).not.toContain(secret);
    }
  });

  test('/healthz, /readyz and /metrics need no session and set no cookie', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const res = await h.fetch(path, { cookie: 'cloakroom=garbage' });
      expect(res.status).toBe(200);
      expect(res.headers.getSetCookie()).toEqual([]);
    }
  });
});

describe('security headers', () => {
  test('every API answer, success or error, carries no-store, nosniff, DENY framing, a referrer policy and a CSP', async () => {
    const bob = await h.login('bob');
    const answers = [
      await h.fetch('/api/session', { cookie: bob.cookie }),
      await h.fetch('/api/session'),
      await h.fetch('/api/nope'),
      await h.fetch('/api/login', { json: { username: 'bob', password: 'wrong password!' } }),
      await h.fetch('/api/login', {
        body: 'x'.repeat(70 * 1024),
        headers: { 'content-type': 'application/json' },
      }),
      await h.fetch('/api/logout', { method: 'POST', cookie: bob.cookie }),
      await h.fetch('/auth/verify', { cookie: bob.cookie }),
      await h.fetch('/api/admin/users', { cookie: bob.cookie }),
      await h.fetch('/healthz'),
    ];
    for (const res of answers) {
      const what = `${res.url} → ${res.status}`;
      expect(res.headers.get('cache-control'), what).toBe('no-store');
      expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
      expect(res.headers.get('x-frame-options'), what).toBe('DENY');
      expect(res.headers.get('referrer-policy'), what).toBeTruthy();
      expect(res.headers.get('content-security-policy'), what).toMatch(/default-src 'none'/);
      expect(res.headers.get('access-control-allow-origin'), what).toBeNull();
      await res.arrayBuffer();
    }
  });

  test('every HTML page and HTML error carries them too, and the stylesheet alone may be cached', async () => {
    const bob = await h.login('bob');
    const pages = [
      await h.fetch('/login'),
      await h.fetch('/account', { cookie: bob.cookie }),
      await h.fetch('/account'),
      await h.fetch('/admin', { cookie: bob.cookie }),
      await h.fetch('/no-such-page'),
    ];
    for (const res of pages) {
      const what = `${res.url} → ${res.status}`;
      expect(res.headers.get('cache-control'), what).toBe('no-store');
      expect(res.headers.get('x-frame-options'), what).toBe('DENY');
      expect(res.headers.get('content-security-policy'), what).toContain("frame-ancestors 'none'");
      await res.arrayBuffer();
    }
    expect(pages.map((r) => r.status)).toEqual([200, 200, 303, 403, 404]);
    const css = await h.fetch('/assets/cloakroom.css');
    expect(css.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(css.headers.get('x-content-type-options')).toBe('nosniff');
    expect(css.headers.get('content-type')).toContain('text/css');
    await css.arrayBuffer();
  });

  test('no CORS: a cross-origin preflight gets no Access-Control-Allow-* headers', async () => {
    const res = await h.fetch('/api/login', {
      method: 'OPTIONS',
      headers: {
        origin: 'http://evil.test',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-csrf-token',
      },
    });
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('fail closed when the store is down', () => {
  test('/readyz turns 503, /healthz stays 200, a session request gets 503 unavailable (never 200), the process lives', async () => {
    const bob = await h.login('bob');
    await h.deps.close();

    const ready = await h.fetch('/readyz');
    expect(ready.status).toBe(503);
    expect(await jsonOf(ready)).toEqual({ status: 'unavailable' });
    expect((await h.fetch('/healthz')).status).toBe(200);

    for (const path of ['/api/session', '/api/sessions', '/auth/verify', '/auth/verify?role=admin']) {
      const res = await h.fetch(path, { cookie: bob.cookie });
      expect(res.status, path).toBe(503);
      const text = await res.text();
      expect(JSON.parse(text)).toMatchObject({ error: 'unavailable' });
      expect(text).not.toMatch(/sqlite|database|stack|Error:|TypeError|connection/i);
      expect(res.headers.get('x-auth-user')).toBeNull();
      expect(res.headers.getSetCookie()).toEqual([]);
    }
    expect(h.logs.some((l) => l.event === 'store.unavailable')).toBe(true);

    // Still serving: the process did not crash.
    expect((await h.fetch('/healthz')).status).toBe(200);
    expect((await h.fetch('/metrics')).status).toBe(200);
  });

  test('sign-out during an outage answers 503, never a false 204', async () => {
    const bob = await h.login('bob');
    await h.deps.close();
    const res = await h.fetch('/api/logout', { method: 'POST', cookie: bob.cookie, csrf: bob.csrf });
    expect(res.status).toBe(503);
    expect(await jsonOf(res)).toMatchObject({ error: 'unavailable' });
  });

  test('sign-in during an outage answers 503 and sets no cookie', async () => {
    await h.deps.close();
    const res = await h.fetch('/api/login', { json: { username: 'bob', password: PASSWORD } });
    expect(res.status).toBe(503);
    expect(await jsonOf(res)).toMatchObject({ error: 'unavailable' });
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  test('every session-backed write during an outage is 503, never 2xx or 500', async () => {
    const alice = await h.login('alice');
    await h.deps.close();
    const writes: Array<[string, string, unknown]> = [
      ['PATCH', '/api/profile', { displayName: 'x' }],
      ['POST', '/api/password', { currentPassword: PASSWORD, newPassword: 'another password' }],
      ['DELETE', '/api/sessions/AAAAAAAAAAAAAAAAAAAAAA', undefined],
      ['POST', '/api/sessions/revoke-others', undefined],
      ['GET', '/api/admin/users', undefined],
      ['POST', '/api/admin/users', { username: 'zed', password: PASSWORD }],
      ['PATCH', `/api/admin/users/${h.ids.bob}`, { locked: true }],
      ['POST', `/api/admin/users/${h.ids.bob}/revoke-sessions`, undefined],
    ];
    for (const [method, path, json] of writes) {
      const res = await h.fetch(path, {
        method,
        cookie: alice.cookie,
        csrf: alice.csrf,
        ...(json === undefined ? {} : { json }),
      });
      expect(res.status, `${method} ${path}`).toBe(503);
    }
  });

  test('a write lock held by another connection: sign-in answers 503 within the busy timeout, and recovers without a restart', async () => {
    const bob = await h.login('bob');
    const other = new Database(join(h.dataDir, 'cloakroom.db'));
    try {
      other.exec('BEGIN EXCLUSIVE');
      const started = performance.now();
      const res = await h.fetch('/api/login', { json: { username: 'bob', password: PASSWORD } });
      expect(res.status).toBe(503);
      expect(await jsonOf(res)).toMatchObject({ error: 'unavailable' });
      expect(res.headers.getSetCookie()).toEqual([]);
      expect(performance.now() - started).toBeLessThan(8_000);
      // Reads still work in WAL: an existing session is still recognised.
      expect((await h.fetch('/auth/verify', { cookie: bob.cookie })).status).toBe(200);
    } finally {
      other.exec('COMMIT');
      other.close();
    }
    await h.login('bob');
    expect((await h.fetch('/readyz')).status).toBe(200);
  }, 30_000);

  test('a request without a cookie never needs the store: 401 as usual', async () => {
    await h.deps.close();
    expect((await h.fetch('/api/session')).status).toBe(401);
    expect((await h.fetch('/auth/verify')).status).toBe(401);
  });
});
