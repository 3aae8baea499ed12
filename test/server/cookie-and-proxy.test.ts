import { afterEach, describe, expect, test } from 'vitest';
import { jsonOf, PASSWORD, type ServerHarness, sessionCookieOf, startHarness } from '../support/server.js';

let h: ServerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const loginJson = { username: 'bob', password: PASSWORD };

describe('cookie settings from the environment', () => {
  test('CLOAKROOM_COOKIE_SECURE=true: __Host- name, Secure, Path=/, no Domain; sign-out clears it with the same attributes', async () => {
    h = await startHarness({ env: { CLOAKROOM_COOKIE_SECURE: 'true' } });
    const res = await h.fetch('/api/login', { json: loginJson });
    expect(res.status).toBe(200);
    const line = res.headers.getSetCookie()[0]!;
    expect(line).toMatch(/^__Host-cloakroom=/);
    expect(line).toMatch(/;\s*Secure/i);
    expect(line).toMatch(/;\s*Path=\//);
    expect(line).toMatch(/;\s*HttpOnly/i);
    expect(line).not.toMatch(/Domain=/i);
    const cookie = sessionCookieOf(res)!;
    const { csrfToken } = await jsonOf<{ csrfToken: string }>(res);
    expect((await h.fetch('/api/session', { cookie })).status).toBe(200);

    const out = await h.fetch('/api/logout', { method: 'POST', cookie, csrf: csrfToken });
    expect(out.status).toBe(204);
    const cleared = out.headers.getSetCookie()[0]!;
    expect(cleared).toMatch(/^__Host-cloakroom=;/);
    expect(cleared).toMatch(/;\s*Secure/i);
    expect(cleared).toMatch(/;\s*Path=\//);
    expect(cleared).toMatch(/Max-Age=0/i);
    expect((await h.fetch('/api/session', { cookie })).status).toBe(401);
  });

  test('CLOAKROOM_COOKIE_SAMESITE=strict gives SameSite=Strict', async () => {
    h = await startHarness({ env: { CLOAKROOM_COOKIE_SAMESITE: 'strict' } });
    const res = await h.fetch('/api/login', { json: loginJson });
    expect(res.headers.getSetCookie()[0]).toMatch(/;\s*SameSite=Strict/);
  });

  test('the non-prefixed name is not accepted when the cookie is Secure (no downgrade by name)', async () => {
    h = await startHarness({ env: { CLOAKROOM_COOKIE_SECURE: 'true' } });
    const cookie = sessionCookieOf(await h.fetch('/api/login', { json: loginJson }))!;
    const value = cookie.split('=')[1]!;
    expect((await h.fetch('/api/session', { cookie: `cloakroom=${value}` })).status).toBe(401);
    expect((await h.fetch('/api/session', { cookie: `__HOST-cloakroom=${value}` })).status).toBe(401);
  });
});

describe('proxy headers', () => {
  test('without CLOAKROOM_TRUST_PROXY, X-Forwarded-Proto/-For/-Host are ignored', async () => {
    h = await startHarness();
    const forged = {
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-host': 'app.example.com',
    };
    const res = await h.fetch('/api/login', { json: loginJson, headers: forged });
    expect(res.status).toBe(200);
    // Plain-HTTP cookie: the forged proto did not make it a Secure __Host- one.
    expect(res.headers.getSetCookie()[0]).toMatch(/^cloakroom=/);
    const cookie = sessionCookieOf(res)!;
    const { sessions } = await jsonOf<{ sessions: Array<{ ip: string }> }>(
      await h.fetch('/api/sessions', { cookie }),
    );
    expect(sessions[0]?.ip).toBe('127.0.0.1');
  });

  test('without CLOAKROOM_TRUST_PROXY, a forged X-Forwarded-Host does not make a foreign Origin look like our own', async () => {
    h = await startHarness();
    const res = await h.fetch('/api/login', {
      json: loginJson,
      headers: { origin: 'https://evil.test', 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https' },
    });
    expect(res.status).toBe(403);
  });

  test('without CLOAKROOM_TRUST_PROXY, rotating X-Forwarded-For does not escape the per-IP limit', async () => {
    h = await startHarness({ env: { CLOAKROOM_THROTTLE_IP: '3/15m' } });
    for (let i = 0; i < 3; i++) {
      const res = await h.fetch('/api/login', {
        json: { username: `nobody${i}`, password: 'wrong password here' },
        headers: { 'x-forwarded-for': `198.51.100.${i}` },
      });
      expect(res.status).toBe(401);
    }
    const res = await h.fetch('/api/login', {
      json: loginJson,
      headers: { 'x-forwarded-for': '198.51.100.77' },
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test('with CLOAKROOM_TRUST_PROXY=true behind an appending proxy, a client rotating its own X-Forwarded-For does not escape the per-IP limit', async () => {
    h = await startHarness({ env: { CLOAKROOM_TRUST_PROXY: 'true', CLOAKROOM_THROTTLE_IP: '3/15m' } });
    // What nginx `$proxy_add_x_forwarded_for` sends: the client's claim, then the peer it saw.
    const via = (claim: string) => ({ 'x-forwarded-for': `${claim}, 203.0.113.50` });
    for (let i = 0; i < 3; i++) {
      const res = await h.fetch('/api/login', {
        json: { username: `nobody${i}`, password: 'wrong password here' },
        headers: via(`198.51.100.${i}`),
      });
      expect(res.status).toBe(401);
    }
    const res = await h.fetch('/api/login', { json: loginJson, headers: via('198.51.100.77') });
    expect(res.status).toBe(429);
    // Another real client behind the same proxy is not affected.
    const other = await h.fetch('/api/login', {
      json: loginJson,
      headers: { 'x-forwarded-for': '198.51.100.77, 203.0.113.51' },
    });
    expect(other.status).toBe(200);
  });

  test('with CLOAKROOM_TRUST_PROXY=true: X-Forwarded-Proto https gives the __Host- cookie, X-Forwarded-For is the session IP, the forwarded origin is our own', async () => {
    h = await startHarness({ env: { CLOAKROOM_TRUST_PROXY: 'true' } });
    const proxy = {
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-host': 'app.example.com',
    };
    const res = await h.fetch('/api/login', {
      json: loginJson,
      headers: { ...proxy, origin: 'https://app.example.com', 'sec-fetch-site': 'same-origin' },
    });
    expect(res.status).toBe(200);
    const line = res.headers.getSetCookie()[0]!;
    expect(line).toMatch(/^__Host-cloakroom=/);
    expect(line).toMatch(/;\s*Secure/i);
    const cookie = sessionCookieOf(res)!;
    const list = await h.fetch('/api/sessions', { cookie, headers: proxy });
    expect(list.status).toBe(200);
    const { sessions } = await jsonOf<{ sessions: Array<{ ip: string }> }>(list);
    expect(sessions[0]?.ip).toBe('203.0.113.9');
    // The same cookie over (what the proxy says is) plain HTTP is not the session cookie.
    expect((await h.fetch('/api/session', { cookie })).status).toBe(401);
  });
});

describe('trusted origins', () => {
  test('an origin in CLOAKROOM_TRUSTED_ORIGINS may sign in and send unsafe requests (with the token)', async () => {
    h = await startHarness({ env: { CLOAKROOM_TRUSTED_ORIGINS: 'https://app.example.com' } });
    const trusted = { origin: 'https://app.example.com', 'sec-fetch-site': 'cross-site' };
    const res = await h.fetch('/api/login', { json: loginJson, headers: trusted });
    expect(res.status).toBe(200);
    const cookie = sessionCookieOf(res)!;
    const { csrfToken } = await jsonOf<{ csrfToken: string }>(res);
    const patch = await h.fetch('/api/profile', {
      method: 'PATCH',
      cookie,
      csrf: csrfToken,
      headers: trusted,
      json: { displayName: 'From the SPA' },
    });
    expect(patch.status).toBe(200);
    // Still needs the token.
    const noToken = await h.fetch('/api/profile', {
      method: 'PATCH',
      cookie,
      headers: trusted,
      json: { displayName: 'x' },
    });
    expect(noToken.status).toBe(403);
    // Another origin is still refused.
    const other = await h.fetch('/api/login', {
      json: loginJson,
      headers: { origin: 'https://evil.example.com', 'sec-fetch-site': 'cross-site' },
    });
    expect(other.status).toBe(403);
  });

  test('Sec-Fetch-Site: none needs a valid token like any other unsafe request', async () => {
    h = await startHarness();
    const { cookie, csrf } = await h.login('bob');
    const headers = { 'sec-fetch-site': 'none' };
    const without = await h.fetch('/api/profile', {
      method: 'PATCH',
      cookie,
      headers,
      json: { displayName: 'x' },
    });
    expect(without.status).toBe(403);
    const withToken = await h.fetch('/api/profile', {
      method: 'PATCH',
      cookie,
      csrf,
      headers,
      json: { displayName: 'x' },
    });
    expect(withToken.status).toBe(200);
  });
});
