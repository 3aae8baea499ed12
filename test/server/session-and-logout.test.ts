import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { jsonOf, type ServerHarness, startHarness } from '../support/server.js';

let h: ServerHarness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => h.close());

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('GET /api/session', () => {
  test('answers 200 {user, csrfToken, session} with Cache-Control: no-store', async () => {
    const { cookie } = await h.login('bob');
    const res = await h.fetch('/api/session', { cookie });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await jsonOf<{
      user: unknown;
      csrfToken: string;
      session: Record<string, string>;
    }>(res);
    expect(body.user).toEqual({
      id: h.ids.bob,
      username: 'bob',
      displayName: 'bob',
      roles: [],
      secondFactor: false,
    });
    expect(typeof body.csrfToken).toBe('string');
    expect(Object.keys(body.session).sort()).toEqual(
      ['absoluteExpiresAt', 'bound', 'createdAt', 'id', 'idleExpiresAt', 'lastSeenAt'].sort(),
    );
    for (const key of ['createdAt', 'lastSeenAt', 'idleExpiresAt', 'absoluteExpiresAt'])
      expect(body.session[key]).toMatch(ISO);
    expect(Date.parse(body.session.idleExpiresAt!)).toBeGreaterThan(Date.now());
    expect(Date.parse(body.session.absoluteExpiresAt!)).toBeGreaterThanOrEqual(
      Date.parse(body.session.idleExpiresAt!),
    );
    // The public id is not the cookie.
    expect(cookie).not.toContain(body.session.id!);
  });

  test('the csrfToken it returns works for an unsafe request', async () => {
    const { cookie } = await h.login('bob');
    const { csrfToken } = await jsonOf<{ csrfToken: string }>(await h.fetch('/api/session', { cookie }));
    const res = await h.fetch('/api/profile', {
      method: 'PATCH',
      cookie,
      csrf: csrfToken,
      json: { displayName: 'B' },
    });
    expect(res.status).toBe(200);
  });

  test('without a cookie: 401 unauthenticated', async () => {
    const res = await h.fetch('/api/session');
    expect(res.status).toBe(401);
    expect(await jsonOf(res)).toMatchObject({ error: 'unauthenticated' });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  test('the token is accepted from the cookie only, never from a query string or header', async () => {
    const { cookie } = await h.login('bob');
    const value = cookie.split('=')[1]!;
    const tries = [
      h.fetch(`/api/session?cloakroom=${encodeURIComponent(value)}`),
      h.fetch(`/api/session?sid=${encodeURIComponent(value)}`),
      h.fetch('/api/session', { headers: { authorization: `Bearer ${value}` } }),
      h.fetch('/api/session', { headers: { 'x-session': value } }),
      h.fetch('/api/session', { cookie: `CLOAKROOM=${value}` }),
      h.fetch('/api/session', { cookie: `__Host-cloakroom=${value}` }),
    ];
    for (const res of await Promise.all(tries)) expect(res.status).toBe(401);
  });

  test('two cookies of the session name in one header authenticate neither', async () => {
    const bob = await h.login('bob');
    const alice = await h.login('alice');
    const res = await h.fetch('/api/session', { cookie: `${bob.cookie}; ${alice.cookie}` });
    expect(res.status).toBe(401);
  });
});

describe('POST /api/logout', () => {
  test('with the cookie and X-CSRF-Token: 204, the cookie is cleared, and a replayed cookie is dead', async () => {
    const { cookie, csrf } = await h.login('bob');
    const res = await h.fetch('/api/logout', { method: 'POST', cookie, csrf });
    expect(res.status).toBe(204);
    const cleared = res.headers.getSetCookie();
    expect(cleared).toHaveLength(1);
    expect(cleared[0]).toMatch(/^cloakroom=;/);
    expect(cleared[0]).toMatch(/Max-Age=0/i);
    expect(cleared[0]).toMatch(/Path=\//i);
    expect(cleared[0]).toMatch(/HttpOnly/i);
    expect((await h.fetch('/api/session', { cookie })).status).toBe(401);
    expect((await h.fetch('/auth/verify', { cookie })).status).toBe(401);
  });

  test('a same-origin browser logout (Origin + Sec-Fetch-Site: same-origin + token) works', async () => {
    const { cookie, csrf } = await h.login('bob');
    const res = await h.fetch('/api/logout', {
      method: 'POST',
      cookie,
      csrf,
      headers: { origin: h.origin, 'sec-fetch-site': 'same-origin' },
    });
    expect(res.status).toBe(204);
  });

  test('without the CSRF token: 403 csrf, and the session is still valid', async () => {
    const { cookie } = await h.login('bob');
    const res = await h.fetch('/api/logout', { method: 'POST', cookie });
    expect(res.status).toBe(403);
    expect(await jsonOf(res)).toMatchObject({ error: 'csrf' });
    expect((await h.fetch('/api/session', { cookie })).status).toBe(200);
  });

  test('with a wrong or foreign CSRF token: 403, and the session is still valid', async () => {
    const bob = await h.login('bob');
    const alice = await h.login('alice');
    for (const csrf of [alice.csrf, 'x', `${bob.csrf}x`, 'é'.repeat(10), 'A'.repeat(10_000)]) {
      const res = await h.fetch('/api/logout', { method: 'POST', cookie: bob.cookie, csrf: encodeURI(csrf) });
      expect(res.status).toBe(403);
    }
    expect((await h.fetch('/api/session', { cookie: bob.cookie })).status).toBe(200);
  });

  test('the CSRF token in the query string is not accepted', async () => {
    const { cookie, csrf } = await h.login('bob');
    const res = await h.fetch(`/api/logout?_csrf=${encodeURIComponent(csrf)}`, { method: 'POST', cookie });
    expect(res.status).toBe(403);
    expect((await h.fetch('/api/session', { cookie })).status).toBe(200);
  });

  test('cross-site (even with a valid token): 403 and the session is still valid', async () => {
    const { cookie, csrf } = await h.login('bob');
    for (const headers of [
      { origin: 'http://evil.test', 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'http://evil.test' },
    ]) {
      const res = await h.fetch('/api/logout', { method: 'POST', cookie, csrf, headers });
      expect(res.status).toBe(403);
      expect(await jsonOf(res)).toMatchObject({ error: 'csrf' });
    }
    expect((await h.fetch('/api/session', { cookie })).status).toBe(200);
  });

  test('GET /api/logout does not exist (404) and signs nobody out', async () => {
    const { cookie } = await h.login('bob');
    const res = await h.fetch('/api/logout', { cookie });
    expect(res.status).toBe(404);
    expect(await jsonOf(res)).toMatchObject({ error: 'not_found' });
    expect((await h.fetch('/api/session', { cookie })).status).toBe(200);
  });

  test('with no cookie, or a garbage one: a harmless 204', async () => {
    const none = await h.fetch('/api/logout', { method: 'POST' });
    expect(none.status).toBe(204);
    for (const cookie of [
      'cloakroom=garbage',
      'cloakroom=',
      `cloakroom=${'a'.repeat(43)}.${'b'.repeat(43)}`,
    ]) {
      const res = await h.fetch('/api/logout', { method: 'POST', cookie });
      expect(res.status).toBe(204);
      expect(res.headers.getSetCookie().join()).toMatch(/Max-Age=0/i);
    }
  });

  test('logout is audited with the session public id, never the token', async () => {
    const { cookie, csrf } = await h.login('bob');
    const me = await jsonOf<{ session: { id: string } }>(await h.fetch('/api/session', { cookie }));
    await h.fetch('/api/logout', { method: 'POST', cookie, csrf });
    const line = h.logs.find((l) => l.event === 'logout');
    expect(line).toMatchObject({ userId: h.ids.bob, session: me.session.id });
    expect(h.logText()).not.toContain(cookie.split('=')[1]!.split('.')[0]!);
  });
});
