import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { jsonOf, type ServerHarness, startHarness } from '../support/server.js';

let h: ServerHarness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => h.close());

const IDENTITY = ['x-auth-user', 'x-auth-user-id', 'x-auth-roles'];

function expectNoIdentity(res: Response): void {
  for (const name of IDENTITY) expect(res.headers.get(name), name).toBeNull();
}

describe('GET /auth/verify (forward auth)', () => {
  test('without a session: 401 with no identity headers', async () => {
    const res = await h.fetch('/auth/verify');
    expect(res.status).toBe(401);
    expect(await jsonOf(res)).toMatchObject({ error: 'unauthenticated' });
    expectNoIdentity(res);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  test('without a session: X-Auth-Redirect is the sign-in URL with the original page URL-encoded, only ever a local path', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{}, '/login'],
      [{ 'x-original-uri': '/app/r?a=1&b=2' }, `/login?next=${encodeURIComponent('/app/r?a=1&b=2')}`],
      [
        { 'x-forwarded-uri': '/grafana/d/x?from=now-1h&to=now' },
        `/login?next=${encodeURIComponent('/grafana/d/x?from=now-1h&to=now')}`,
      ],
      // A page that is not a local path is never where sign-in returns to.
      [{ 'x-original-uri': '//evil.test/x' }, `/login?next=${encodeURIComponent('/account')}`],
      [{ 'x-original-uri': 'https://evil.test/' }, `/login?next=${encodeURIComponent('/account')}`],
      [{ 'x-original-uri': '/.//evil.test' }, `/login?next=${encodeURIComponent('/account')}`],
    ];
    for (const [headers, expected] of cases) {
      const res = await h.fetch('/auth/verify', { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('x-auth-redirect'), JSON.stringify(headers)).toBe(expected);
      await res.arrayBuffer();
    }
    // Signed in, there is nothing to redirect to.
    const { cookie } = await h.login('alice');
    const ok = await h.fetch('/auth/verify', { cookie, headers: { 'x-original-uri': '/app/' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-auth-redirect')).toBeNull();
  });

  test('with a session: 200 with X-Auth-User, X-Auth-User-Id, X-Auth-Roles and Cache-Control: no-store', async () => {
    const { cookie } = await h.login('alice');
    const res = await h.fetch('/auth/verify', { cookie });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-auth-user')).toBe('alice');
    expect(res.headers.get('x-auth-user-id')).toBe(h.ids.alice);
    expect(res.headers.get('x-auth-roles')).toBe('admin');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  test('a user with no roles gets an empty X-Auth-Roles', async () => {
    const { cookie } = await h.login('bob');
    const res = await h.fetch('/auth/verify', { cookie });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-auth-roles')).toBe('');
  });

  test('?role=admin: 200 for an admin, 403 forbidden (no identity headers) for bob', async () => {
    const alice = await h.login('alice');
    const bob = await h.login('bob');
    expect((await h.fetch('/auth/verify?role=admin', { cookie: alice.cookie })).status).toBe(200);
    const res = await h.fetch('/auth/verify?role=admin', { cookie: bob.cookie });
    expect(res.status).toBe(403);
    expect(await jsonOf(res)).toMatchObject({ error: 'forbidden' });
    expectNoIdentity(res);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  test('?role= with a malformed role name: 400', async () => {
    const { cookie } = await h.login('alice');
    for (const role of ['bad!role', 'Admin', '', 'a'.repeat(65), 'admin%0d%0aX-Auth-User:%20root']) {
      const res = await h.fetch(`/auth/verify?role=${role}`, { cookie });
      expect(res.status, role).toBe(400);
      expect(await jsonOf(res)).toMatchObject({ error: 'bad_request' });
      expectNoIdentity(res);
    }
  });

  test('a repeated ?role= is 400 in either order, with no identity headers: an editor never passes as admin', async () => {
    // Regression: only the first `role` was read, so `?role=editor&role=admin` let an editor
    // through where the gateway's URL asked for admin.
    await h.createUser('carol', { roles: ['editor'] });
    const carol = await h.login('carol');
    const alice = await h.login('alice');
    for (const query of [
      'role=editor&role=admin',
      'role=admin&role=editor',
      'role=editor&role=editor',
      'role=editor&x=1&role=',
      'role=editor&r%6fle=admin',
    ]) {
      for (const [who, cookie] of [
        ['carol', carol.cookie],
        ['alice', alice.cookie],
      ] as const) {
        const res = await h.fetch(`/auth/verify?${query}`, { cookie });
        expect(res.status, `${who} ${query}`).toBe(400);
        expect(await jsonOf(res)).toEqual({
          error: 'bad_request',
          message: 'Send one role per request; role is repeated.',
        });
        expectNoIdentity(res);
      }
      const head = await h.fetch(`/auth/verify?${query}`, { method: 'HEAD', cookie: carol.cookie });
      expect(head.status, `HEAD ${query}`).toBe(400);
      expectNoIdentity(head);
    }
    // One role at a time still answers as before.
    expect((await h.fetch('/auth/verify?role=editor', { cookie: carol.cookie })).status).toBe(200);
    expect((await h.fetch('/auth/verify?role=admin', { cookie: carol.cookie })).status).toBe(403);
  });

  test('HEAD works like GET: 200 with identity headers, 401 without a session', async () => {
    const { cookie } = await h.login('alice');
    const ok = await h.fetch('/auth/verify', { method: 'HEAD', cookie });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-auth-user')).toBe('alice');
    const anonymous = await h.fetch('/auth/verify', { method: 'HEAD' });
    expect(anonymous.status).toBe(401);
    expectNoIdentity(anonymous);
  });

  test('after sign-out the same cookie gets 401', async () => {
    const { cookie, csrf } = await h.login('bob');
    expect((await h.fetch('/auth/verify', { cookie })).status).toBe(200);
    expect((await h.fetch('/api/logout', { method: 'POST', cookie, csrf })).status).toBe(204);
    const res = await h.fetch('/auth/verify', { cookie });
    expect(res.status).toBe(401);
    expectNoIdentity(res);
  });

  test('identity headers sent by the client are neither trusted nor echoed', async () => {
    const spoof = { 'x-auth-user': 'alice', 'x-auth-user-id': h.ids.alice, 'x-auth-roles': 'admin' };
    const anonymous = await h.fetch('/auth/verify?role=admin', { headers: spoof });
    expect(anonymous.status).toBe(401);
    expectNoIdentity(anonymous);

    const { cookie } = await h.login('bob');
    const denied = await h.fetch('/auth/verify?role=admin', { cookie, headers: spoof });
    expect(denied.status).toBe(403);
    expectNoIdentity(denied);

    const allowed = await h.fetch('/auth/verify', { cookie, headers: spoof });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-auth-user')).toBe('bob');
    expect(allowed.headers.get('x-auth-user-id')).toBe(h.ids.bob);
    expect(allowed.headers.get('x-auth-roles')).toBe('');
  });

  test('any username yields a valid header: 200 (never 500), and decodeURIComponent(X-Auth-User) gives the name back', async () => {
    // Header values are bytes: a username outside Latin-1 (Cyrillic, CJK, emoji) cannot be
    // written as-is, and Latin-1 would reach the upstream as non-UTF-8 bytes.
    for (const name of ['иван', '名前', 'zoë', 'smile😀', '100%real', 'alice@example.com']) {
      await h.createUser(name);
      const { cookie } = await h.login(name);
      const res = await h.fetch('/auth/verify', { cookie });
      expect(res.status, name).toBe(200);
      const header = res.headers.get('x-auth-user')!;
      expect(header, name).toMatch(/^[\x21-\x7e]+$/);
      expect(decodeURIComponent(header), name).toBe(name.normalize('NFKC').toLowerCase());
    }
    // Plain ASCII names (e-mail addresses included) pass unchanged.
    const { cookie } = await h.login('alice@example.com');
    expect((await h.fetch('/auth/verify', { cookie })).headers.get('x-auth-user')).toBe('alice@example.com');
    expect(h.logs.filter((l) => l.msg === 'unhandled error')).toEqual([]);
  });

  test('a session token in the query string or Authorization header does not count', async () => {
    const { cookie } = await h.login('bob');
    const value = cookie.split('=')[1]!;
    expect((await h.fetch(`/auth/verify?cloakroom=${encodeURIComponent(value)}`)).status).toBe(401);
    expect((await h.fetch('/auth/verify', { headers: { authorization: `Bearer ${value}` } })).status).toBe(
      401,
    );
  });
});

describe('GET /auth/verify: edge CSRF for forwarded unsafe methods', () => {
  test('X-Forwarded-Method: POST with Sec-Fetch-Site: cross-site → 403 csrf, no identity headers', async () => {
    const { cookie } = await h.login('bob');
    const res = await h.fetch('/auth/verify', {
      cookie,
      headers: { 'x-forwarded-method': 'POST', 'sec-fetch-site': 'cross-site', origin: 'http://evil.test' },
    });
    expect(res.status).toBe(403);
    expect(await jsonOf(res)).toMatchObject({ error: 'csrf' });
    expectNoIdentity(res);
  });

  test('X-Forwarded-Method: POST from a foreign Origin or a sibling site → 403', async () => {
    const { cookie } = await h.login('bob');
    for (const headers of [
      { 'x-forwarded-method': 'POST', origin: 'http://evil.test' },
      { 'x-forwarded-method': 'DELETE', 'sec-fetch-site': 'same-site' },
      { 'x-original-method': 'PUT', 'sec-fetch-site': 'cross-site' },
      { 'x-forwarded-method': 'post', 'sec-fetch-site': 'cross-site' },
    ]) {
      const res = await h.fetch('/auth/verify', { cookie, headers });
      expect(res.status, JSON.stringify(headers)).toBe(403);
    }
  });

  test("a client-sent X-Forwarded-Method: GET cannot vouch for the proxy's X-Original-Method: POST", async () => {
    const { cookie } = await h.login('bob');
    for (const headers of [
      { 'x-forwarded-method': 'GET', 'x-original-method': 'POST', 'sec-fetch-site': 'cross-site' },
      { 'x-original-method': 'GET', 'x-forwarded-method': 'DELETE', origin: 'http://evil.test' },
    ]) {
      const res = await h.fetch('/auth/verify', { cookie, headers });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expectNoIdentity(res);
    }
  });

  test('X-Forwarded-Method: POST with Sec-Fetch-Site: same-origin → 200', async () => {
    const { cookie } = await h.login('bob');
    const res = await h.fetch('/auth/verify', {
      cookie,
      headers: { 'x-forwarded-method': 'POST', 'sec-fetch-site': 'same-origin', origin: h.origin },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-auth-user')).toBe('bob');
  });

  test('X-Forwarded-Method: GET from a cross-site navigation → 200 (safe methods pass)', async () => {
    const { cookie } = await h.login('bob');
    const res = await h.fetch('/auth/verify', {
      cookie,
      headers: { 'x-forwarded-method': 'GET', 'sec-fetch-site': 'cross-site' },
    });
    expect(res.status).toBe(200);
  });

  test('a garbled X-Forwarded-Method → 400, never 200', async () => {
    const { cookie } = await h.login('bob');
    for (const method of ['GE T', 'POST;', 'X'.repeat(17), '']) {
      const res = await h.fetch('/auth/verify', { cookie, headers: { 'x-forwarded-method': method } });
      expect(res.status, JSON.stringify(method)).toBe(400);
      expectNoIdentity(res);
    }
  });
});
