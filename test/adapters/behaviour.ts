import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  type AdapterFactory,
  type AdapterHarness,
  BODY_LIMIT,
  type HeaderValue,
  ORIGIN,
  PASSWORD,
  type TestResponse,
} from '../support/adapter-harness.js';
import { dbscBehaviour } from './dbsc-behaviour.js';

/** The `cloakroom=` values among a response's Set-Cookie headers. */
const sessionCookies = (setCookie: readonly string[]) => setCookie.filter((c) => c.startsWith('cloakroom='));

/** Whether a response would sign the browser in: a session cookie that carries a value. */
const signsIn = (res: TestResponse) => res.setCookie.some((c) => /^(__Host-)?cloakroom=[^;]/.test(c));

/**
 * An error answer as every adapter gives it: the status, exactly this JSON body under a JSON
 * content type, no HTML error page or stack trace, and no cookie that signs anyone in.
 */
function expectJsonError(res: TestResponse, status: number, body: Record<string, unknown>, what = ''): void {
  expect(res.status, what).toBe(status);
  expect(res.header('content-type'), what).toMatch(/^application\/json\b/);
  expect(res.json(), what).toEqual(body);
  expect(res.text, what).not.toMatch(/<html|stack|Error:|\bat \S+ \(/i);
  expect(signsIn(res), what).toBe(false);
}

const BAD_REQUEST = { error: 'bad_request' };
const CSRF = { error: 'csrf', message: expect.any(String) };
const UNAVAILABLE = { error: 'unavailable', message: expect.any(String) };

/** Flips one character of the cookie value at `index` (from the value's start, or its end if negative). */
function flip(pair: string, index: number): string {
  const eq = pair.indexOf('=') + 1;
  const value = pair.slice(eq);
  const at = index < 0 ? value.length + index : index;
  const swapped = value[at] === 'A' ? 'B' : 'A';
  return `${pair.slice(0, eq)}${value.slice(0, at)}${swapped}${value.slice(at + 1)}`;
}

/**
 * The behaviours every adapter shares, against the same small app on each framework (see
 * test/support/adapter-apps.ts): POST /login, POST /logout, GET /me, GET /admin (role admin),
 * POST /mutate (a counter), POST /rotate, GET /recent* (requireRecentAuth), POST /reauth. Real
 * SQLite store, real argon2, a manual clock.
 */
export function adapterBehaviour(name: string, factory: AdapterFactory): void {
  describe(`${name} adapter`, () => {
    let h: AdapterHarness;
    beforeEach(async () => {
      h = await factory();
    });
    afterEach(async () => h.close());

    const mutate = (
      init: { cookie?: string; headers?: Record<string, HeaderValue>; body?: string },
      path = '/mutate',
    ) => h.request(path, { method: 'POST', ...init });

    describe('sign-in and the user on the request', () => {
      test('sign-in sets one HttpOnly, SameSite=Lax, Path=/ session cookie and forbids caching', async () => {
        const { response, csrf } = await h.login('alice');
        expect(response.status).toBe(200);
        const cookies = sessionCookies(response.setCookie);
        expect(cookies).toHaveLength(1);
        expect(cookies[0]).toMatch(/; Path=\/; HttpOnly; SameSite=Lax/);
        expect(cookies[0]).not.toMatch(/Max-Age|Secure|Domain/i);
        expect(response.header('cache-control')).toBe('no-store');
        expect(response.json()).toMatchObject({ user: { username: 'alice', roles: ['admin'] } });
        expect(csrf).toMatch(/^[\w-]{20,}$/);
      });

      test('a wrong password sets no cookie', async () => {
        const { response } = await h.login('alice', { password: 'wrong password here' });
        expect(response.status).toBe(401);
        expect(response.setCookie).toEqual([]);
      });

      test('signed out: requireUser answers 401 with the documented error shape', async () => {
        const res = await h.request('/me');
        expect(res.status).toBe(401);
        expect(res.json()).toEqual({ error: 'unauthenticated', message: expect.any(String) });
      });

      test('signed in: the session and a user without password hash are on the request', async () => {
        const { cookie } = await h.login('alice');
        const res = await h.request('/me', { cookie });
        expect(res.status).toBe(200);
        const body = res.json<{ user: unknown; session: { userId: string }; csrfToken: string }>();
        expect(body.user).toEqual({
          id: h.ids.alice,
          username: 'alice',
          displayName: 'alice',
          roles: ['admin'],
          secondFactor: false,
        });
        expect(body.session.userId).toBe(h.ids.alice);
        expect(res.text).not.toMatch(/argon2|passwordHash|csrfSecret/);
        expect(res.setCookie).toEqual([]);
      });

      test('requireRole: 401 signed out, 403 forbidden without the role, 200 with it', async () => {
        expect((await h.request('/admin')).status).toBe(401);
        const bob = await h.login('bob');
        const refused = await h.request('/admin', { cookie: bob.cookie });
        expect(refused.status).toBe(403);
        expect(refused.json()).toMatchObject({ error: 'forbidden' });
        const alice = await h.login('alice');
        expect((await h.request('/admin', { cookie: alice.cookie })).status).toBe(200);
      });
    });

    describe('login CSRF', () => {
      const json = (headers: Record<string, string> = {}, username = 'alice') => ({
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ username, password: PASSWORD }),
      });
      const form = (fields: Record<string, string>, cookie?: string) => ({
        method: 'POST',
        ...(cookie === undefined ? {} : { cookie }),
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
        body: new URLSearchParams({ username: 'alice', password: PASSWORD, ...fields }).toString(),
      });
      const liveSessions = () => h.store.sessions.listByUser(h.ids.alice, h.clock.now());

      test('a cross-site or same-site sign-in is refused with 403 csrf: no cookie, no session created', async () => {
        const attacks = [
          { origin: 'https://evil.test', 'sec-fetch-site': 'cross-site' },
          { origin: 'https://evil.test' },
          { 'sec-fetch-site': 'cross-site' },
          { origin: 'http://app.test:8081', 'sec-fetch-site': 'same-site' },
          { origin: 'null' },
        ];
        for (const headers of attacks) {
          const res = await h.request('/login', json(headers));
          expect(res.status, JSON.stringify(headers)).toBe(403);
          expect(res.json()).toEqual({ error: 'csrf', message: expect.any(String) });
          expect(res.setCookie, JSON.stringify(headers)).toEqual([]);
        }
        expect(await liveSessions()).toEqual([]);
      });

      test('a same-origin browser sign-in and a JSON client without Origin both sign in', async () => {
        const browser = await h.request('/login', json({ origin: ORIGIN, 'sec-fetch-site': 'same-origin' }));
        expect(browser.status).toBe(200);
        expect(sessionCookies(browser.setCookie)).toHaveLength(1);
        expect((await h.request('/login', json())).status).toBe(200);
        expect(await liveSessions()).toHaveLength(2);
      });

      test('a form sign-in without the login token, or with a forged one, is refused', async () => {
        const { cookie, token } = await h.loginForm();
        const other = await h.loginForm();
        const attempts = [
          form({}, cookie), // no token at all
          form({ _csrf: 'A'.repeat(43) }, cookie), // a made-up token
          form({ _csrf: token }), // the token without its nonce cookie
          form({ _csrf: token }, other.cookie), // another visitor's nonce
        ];
        for (const [i, init] of attempts.entries()) {
          const res = await h.request('/login', init);
          expect(res.status, `attempt ${i}`).toBe(403);
          expect(res.json()).toMatchObject({ error: 'csrf' });
          expect(sessionCookies(res.setCookie), `attempt ${i}`).toEqual([]);
        }
        expect(await liveSessions()).toEqual([]);
      });

      test('a text/plain body, which any site can post, needs the login token as well', async () => {
        const res = await h.request('/login', {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: JSON.stringify({ username: 'alice', password: PASSWORD }),
        });
        expect(res.status).toBe(403);
        expect(await liveSessions()).toEqual([]);
      });

      test('a form sign-in with the token of the login form signs in', async () => {
        const page = await h.loginForm();
        expect(page.setCookie).toEqual([
          expect.stringMatching(
            /^cloakroom-login=[\w-]{43}\.[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=7200$/,
          ),
        ]);
        expect(page.cacheControl).toBe('no-store');
        const res = await h.request('/login', form({ _csrf: page.token }, page.cookie));
        expect(res.status).toBe(200);
        expect(sessionCookies(res.setCookie)).toHaveLength(1);
        expect(res.json()).toMatchObject({ user: { username: 'alice' } });
      });

      test('malformed JSON is 400 bad_request as JSON, without a stack trace, and signs no one in', async () => {
        const res = await h.request('/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"username": "alice", "password": ',
        });
        expectJsonError(res, 400, BAD_REQUEST);
        expect(sessionCookies(res.setCookie)).toEqual([]);
      });

      test('a throttled sign-in is 429 with Retry-After, even with the right password', async () => {
        for (let i = 0; i < 5; i++) {
          expect((await h.login('bob', { password: `wrong password ${i}` })).response.status).toBe(401);
        }
        const { response } = await h.login('bob');
        expect(response.status).toBe(429);
        expect(Number(response.header('retry-after'))).toBeGreaterThan(0);
        expect(response.setCookie).toEqual([]);
      });
    });

    describe('fixation', () => {
      test('a planted session cookie is replaced at sign-in and dead afterwards', async () => {
        const planted = await h.login('bob');
        const { cookie, response } = await h.login('alice', { cookie: planted.cookie });
        expect(response.status).toBe(200);
        expect(cookie).not.toBe(planted.cookie);
        expect((await h.request('/me', { cookie: planted.cookie })).status).toBe(401);
        const me = await h.request('/me', { cookie });
        expect(me.json()).toMatchObject({ user: { username: 'alice' } });
      });

      test("after a sign-in over someone else's cookie, the old user is no longer on the request", async () => {
        const planted = await h.login('bob');
        const { response } = await h.login('alice', { cookie: planted.cookie });
        expect(response.json().userOnRequest).not.toBe('bob');
      });

      test('a stale cookie cleared on the way in and a new session: only the new Set-Cookie is sent', async () => {
        const old = await h.login('bob');
        const { response, cookie } = await h.login('alice', { cookie: flip(old.cookie, -3) });
        const cookies = sessionCookies(response.setCookie);
        expect(cookies).toHaveLength(1);
        expect(cookies[0]).not.toMatch(/Max-Age=0/);
        expect((await h.request('/me', { cookie })).status).toBe(200);
      });
    });

    describe('tampering', () => {
      test('a flipped character in the signature or the token gives 401 and a clearing cookie', async () => {
        const { cookie } = await h.login('alice');
        for (const index of [2, cookie.indexOf('.') - cookie.indexOf('=') + 2, -3]) {
          const res = await h.request('/me', { cookie: flip(cookie, index) });
          expect(res.status, `index ${index}`).toBe(401);
          expect(sessionCookies(res.setCookie)[0]).toMatch(/^cloakroom=; .*Max-Age=0/);
        }
        expect((await h.request('/me', { cookie })).status).toBe(200);
      });
    });

    describe('csrf', () => {
      test('a cookie-authenticated POST without a token is refused with 403 csrf and changes nothing', async () => {
        const { cookie } = await h.login('alice');
        const res = await mutate({ cookie });
        expect(res.status).toBe(403);
        expect(res.json()).toEqual({ error: 'csrf', message: expect.any(String) });
        expect(h.counter.value).toBe(0);
      });

      test('the token in X-CSRF-Token passes', async () => {
        const { cookie, csrf } = await h.login('alice');
        const res = await mutate({ cookie, headers: { 'x-csrf-token': csrf } });
        expect(res.status).toBe(200);
        expect(h.counter.value).toBe(1);
      });

      test('an HTML form may send the token as _csrf', async () => {
        const { cookie, csrf } = await h.login('alice');
        const headers = { 'content-type': 'application/x-www-form-urlencoded' };
        const res = await mutate({ cookie, headers, body: new URLSearchParams({ _csrf: csrf }).toString() });
        expect(res.status).toBe(200);
        expect(h.counter.value).toBe(1);
      });

      test('the token is never taken from the query string', async () => {
        const { cookie, csrf } = await h.login('alice');
        expect((await mutate({ cookie }, `/mutate?_csrf=${encodeURIComponent(csrf)}`)).status).toBe(403);
        expect(h.counter.value).toBe(0);
      });

      test('_csrf in a JSON or text/plain body is not a token', async () => {
        const { cookie, csrf } = await h.login('alice');
        for (const type of ['text/plain', 'application/json']) {
          const res = await mutate({
            cookie,
            headers: { 'content-type': type },
            body: JSON.stringify({ _csrf: csrf }),
          });
          expect(res.status, type).toBe(403);
        }
        expect(h.counter.value).toBe(0);
      });

      test('cross-site and same-site requests are refused even with a valid token', async () => {
        const { cookie, csrf } = await h.login('alice');
        const attacks = [
          { origin: 'https://evil.test', 'sec-fetch-site': 'cross-site' },
          { origin: 'https://evil.test' },
          { origin: 'http://app.test:8081', 'sec-fetch-site': 'same-site' },
          { origin: 'null' },
        ];
        for (const headers of attacks) {
          const res = await mutate({ cookie, headers: { ...headers, 'x-csrf-token': csrf } });
          expect(res.status, JSON.stringify(headers)).toBe(403);
        }
        expect(h.counter.value).toBe(0);
      });

      test('a same-origin browser request with the token passes', async () => {
        const { cookie, csrf } = await h.login('alice');
        const headers = { origin: ORIGIN, 'sec-fetch-site': 'same-origin', 'x-csrf-token': csrf };
        expect((await mutate({ cookie, headers })).status).toBe(200);
      });

      test('signed out: a cross-site POST meets the origin gate, a plain one gets 401', async () => {
        expect((await mutate({ headers: { origin: 'https://evil.test' } })).status).toBe(403);
        expect((await mutate({})).status).toBe(401);
      });
    });

    describe('expiry', () => {
      test('past the idle timeout: 401 and a clearing Set-Cookie', async () => {
        const { cookie } = await h.login('alice');
        h.clock.advance(31 * 60_000);
        const res = await h.request('/me', { cookie });
        expect(res.status).toBe(401);
        expect(sessionCookies(res.setCookie)).toEqual([expect.stringMatching(/^cloakroom=; .*Max-Age=0/)]);
      });

      test('activity slides the idle deadline', async () => {
        const { cookie } = await h.login('alice');
        for (let i = 0; i < 3; i++) {
          h.clock.advance(20 * 60_000);
          expect((await h.request('/me', { cookie })).status, `step ${i}`).toBe(200);
        }
      });
    });

    describe('revocation', () => {
      test('sign-out: 204, the cookie is cleared, and the old cookie is dead', async () => {
        const { cookie, csrf } = await h.login('alice');
        const out = await h.request('/logout', { method: 'POST', cookie, headers: { 'x-csrf-token': csrf } });
        expect(out.status).toBe(204);
        expect(out.setCookie).toEqual([
          expect.stringMatching(/^cloakroom=; Path=\/; HttpOnly; SameSite=Lax; Max-Age=0/),
        ]);
        expect(out.header('cache-control')).toBe('no-store');
        expect((await h.request('/me', { cookie })).status).toBe(401);
      });

      test("a role change applies on the user's very next request", async () => {
        const alice = await h.login('alice');
        expect((await h.request('/admin', { cookie: alice.cookie })).status).toBe(200);
        await h.store.users.update(h.ids.alice, { roles: [] }, h.clock.now());
        expect((await h.request('/admin', { cookie: alice.cookie })).status).toBe(403);
        const bob = await h.login('bob');
        await h.store.users.update(h.ids.bob, { roles: ['admin'] }, h.clock.now());
        expect((await h.request('/admin', { cookie: bob.cookie })).status).toBe(200);
      });

      test('locking a user applies on the very next request; unlocking revives the session', async () => {
        const bob = await h.login('bob');
        await h.store.users.update(h.ids.bob, { locked: true }, h.clock.now());
        expect((await h.request('/me', { cookie: bob.cookie })).status).toBe(401);
        expect((await h.login('bob')).response.status).toBe(401);
        await h.store.users.update(h.ids.bob, { locked: false }, h.clock.now());
        expect((await h.request('/me', { cookie: bob.cookie })).status).toBe(200);
      });

      test('rotation from a handler: the new cookie works, the old one is dead', async () => {
        const { cookie, csrf } = await h.login('alice');
        const res = await h.request('/rotate', { method: 'POST', cookie, headers: { 'x-csrf-token': csrf } });
        expect(res.status).toBe(200);
        const fresh = sessionCookies(res.setCookie)[0]!.split(';')[0]!;
        expect(fresh).not.toBe(cookie);
        expect((await h.request('/me', { cookie })).status).toBe(401);
        expect((await h.request('/me', { cookie: fresh })).status).toBe(200);
        const token = res.json<{ csrfToken: string }>().csrfToken;
        expect((await mutate({ cookie: fresh, headers: { 'x-csrf-token': csrf } })).status).toBe(403);
        expect((await mutate({ cookie: fresh, headers: { 'x-csrf-token': token } })).status).toBe(200);
      });
    });

    describe('re-authentication: requireRecentAuth and reauthenticate', () => {
      const MINUTE = 60_000;
      /** The sessions' default `reauthWindow`. */
      const WINDOW = 10 * MINUTE;
      const UNAUTHENTICATED = { error: 'unauthenticated', message: expect.any(String) };
      const REAUTH_REQUIRED = { error: 'reauth_required', message: expect.any(String) };
      const reauth = (cookie: string, csrf: string) =>
        h.request('/reauth', { method: 'POST', cookie, headers: { 'x-csrf-token': csrf } });

      test('signed out, or with a dead cookie: 401 unauthenticated, never reauth_required', async () => {
        for (const path of ['/recent', '/recent-1m', '/recent-30m']) {
          expectJsonError(await h.request(path), 401, UNAUTHENTICATED, path);
        }
        const { cookie, csrf } = await h.login('bob');
        await h.request('/logout', { method: 'POST', cookie, headers: { 'x-csrf-token': csrf } });
        expectJsonError(await h.request('/recent', { cookie }), 401, UNAUTHENTICATED);
        // A locked user has no session, however recent the sign-in.
        const again = await h.login('bob');
        await h.store.users.update(h.ids.bob, { locked: true }, h.clock.now());
        expectJsonError(await h.request('/recent', { cookie: again.cookie }), 401, UNAUTHENTICATED);
      });

      test('a fresh sign-in passes; at the end of the window it is 403 reauth_required, while the session lives on', async () => {
        const { cookie } = await h.login('alice');
        expect((await h.request('/recent', { cookie })).status).toBe(200);
        h.clock.advance(WINDOW - 1);
        expect((await h.request('/recent', { cookie })).status).toBe(200);
        h.clock.advance(1);
        const refused = await h.request('/recent', { cookie });
        expectJsonError(refused, 403, REAUTH_REQUIRED);
        expect(refused.setCookie).toEqual([]);
        // Still signed in: only the sensitive route wants a new proof.
        expect((await h.request('/me', { cookie })).status).toBe(200);
        h.clock.advance(5 * MINUTE);
        expectJsonError(await h.request('/recent', { cookie }), 403, REAUTH_REQUIRED);
      });

      test('reauthenticate: the route passes again with the new cookie, the old cookie and CSRF token are dead', async () => {
        const { cookie, csrf } = await h.login('alice');
        const before = (await h.request('/me', { cookie })).json<{ session: Record<string, unknown> }>()
          .session;
        h.clock.advance(WINDOW + MINUTE);
        expectJsonError(await h.request('/recent', { cookie }), 403, REAUTH_REQUIRED);

        const res = await reauth(cookie, csrf);
        expect(res.status).toBe(200);
        expect(res.header('cache-control')).toBe('no-store');
        const cookies = sessionCookies(res.setCookie);
        expect(cookies).toHaveLength(1);
        expect(cookies[0]).toMatch(/; Path=\/; HttpOnly; SameSite=Lax/);
        const fresh = cookies[0]!.split(';')[0]!;
        expect(fresh).not.toBe(cookie);

        expectJsonError(await h.request('/recent', { cookie }), 401, UNAUTHENTICATED);
        expect((await h.request('/me', { cookie })).status).toBe(401);
        expect((await h.request('/recent', { cookie: fresh })).status).toBe(200);
        const after = (await h.request('/me', { cookie: fresh })).json<{
          session: Record<string, unknown>;
        }>();
        // The same sign-in (its age and deadline kept), a new proof, the methods it was given.
        expect(after.session).toMatchObject({
          userId: h.ids.alice,
          createdAt: before.createdAt,
          absoluteExpiresAt: before.absoluteExpiresAt,
          authenticatedAt: h.clock.now(),
          methods: ['pwd', 'otp'],
        });
        expect(after.session.id).not.toBe(before.id);

        const token = res.json<{ csrfToken: string }>().csrfToken;
        expectJsonError(await mutate({ cookie: fresh, headers: { 'x-csrf-token': csrf } }), 403, CSRF);
        expect((await mutate({ cookie: fresh, headers: { 'x-csrf-token': token } })).status).toBe(200);
        // The new proof has a window of its own.
        h.clock.advance(WINDOW);
        expectJsonError(await h.request('/recent', { cookie: fresh }), 403, REAUTH_REQUIRED);
      });

      test('reauthenticate is CSRF-checked like any unsafe route, and needs a session', async () => {
        const { cookie } = await h.login('alice');
        expectJsonError(await h.request('/reauth', { method: 'POST', cookie }), 403, CSRF);
        expectJsonError(await h.request('/reauth', { method: 'POST' }), 401, UNAUTHENTICATED);
        expect((await h.request('/me', { cookie })).status).toBe(200);
      });

      test("a guard's own maxAge ('1m', 1800 seconds) replaces the window, longer or shorter", async () => {
        const { cookie } = await h.login('alice');
        const status = async (path: string) => (await h.request(path, { cookie })).status;
        expect([await status('/recent-1m'), await status('/recent'), await status('/recent-30m')]).toEqual([
          200, 200, 200,
        ]);
        h.clock.advance(MINUTE);
        expectJsonError(await h.request('/recent-1m', { cookie }), 403, REAUTH_REQUIRED);
        expect(await status('/recent')).toBe(200);
        h.clock.advance(WINDOW - MINUTE);
        expectJsonError(await h.request('/recent', { cookie }), 403, REAUTH_REQUIRED);
        expect(await status('/recent-30m')).toBe(200);
        h.clock.advance(30 * MINUTE - WINDOW - 1);
        expect(await status('/recent-30m')).toBe(200);
        h.clock.advance(1);
        expectJsonError(await h.request('/recent-30m', { cookie }), 403, REAUTH_REQUIRED);
      });
    });

    describe('where the request came from', () => {
      test('the session records the peer address; forwarding headers are ignored without trustProxy', async () => {
        const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.5' };
        const res = await h.request('/login', {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'alice', password: PASSWORD }),
        });
        const cookie = sessionCookies(res.setCookie)[0]!;
        expect(cookie).not.toMatch(/Secure/);
        const me = await h.request('/me', { cookie: cookie.split(';')[0]! });
        expect(me.json()).toMatchObject({ session: { ip: '127.0.0.1' } });
      });
    });

    describe('caching', () => {
      test('an authenticated GET that sets no cookie is still Cache-Control: no-store', async () => {
        const { cookie } = await h.login('alice');
        const res = await h.request('/me', { cookie });
        expect(res.status).toBe(200);
        expect(res.setCookie).toEqual([]);
        expect(res.header('cache-control')).toBe('no-store');
      });

      test("a handler's own Cache-Control on a signed-in answer is kept", async () => {
        const { cookie } = await h.login('alice');
        const res = await h.request('/private-cache', { cookie });
        expect(res.status).toBe(200);
        expect(res.header('cache-control')).toBe('private, max-age=60');
      });
    });

    describe('bad input: the same answer whichever adapter is behind the route', () => {
      const signIn = (
        type: string | null,
        body: string,
        extra: Record<string, string> = {},
        cookie?: string,
      ) =>
        h.request('/login', {
          method: 'POST',
          ...(cookie === undefined ? {} : { cookie }),
          headers: { ...(type === null ? {} : { 'content-type': type }), ...extra },
          body,
        });
      const credentials = JSON.stringify({ username: 'alice', password: PASSWORD });
      const liveSessions = () => h.store.sessions.listByUser(h.ids.alice, h.clock.now());

      test('malformed or empty JSON, signed in or not: 400 {"error":"bad_request"}, no session', async () => {
        const { cookie } = await h.login('alice');
        const bodies = [
          '{"username": "alice", "password": ',
          '{',
          '{"username":"alice"}}',
          'nul',
          "{'a':1}",
          '',
        ];
        for (const body of bodies) {
          expectJsonError(await signIn('application/json', body), 400, BAD_REQUEST, body);
          expectJsonError(await signIn('application/json', body, {}, cookie), 400, BAD_REQUEST, body);
        }
        // Only the session signed in above; and it still works.
        expect(await liveSessions()).toHaveLength(1);
        expect((await h.request('/me', { cookie })).status).toBe(200);
      });

      test(`a body over ${BODY_LIMIT} bytes: 413 {"error":"payload_too_large"}, before any guard; at the limit it is read`, async () => {
        const pad = (type: 'json' | 'form', size: number) => {
          const base =
            type === 'json'
              ? JSON.stringify({ username: 'alice', password: PASSWORD, pad: '' })
              : new URLSearchParams({ username: 'alice', password: PASSWORD, pad: '' }).toString();
          const filler = 'x'.repeat(size - base.length);
          return type === 'json' ? `${base.slice(0, -2)}${filler}"}` : `${base}${filler}`;
        };
        const form = 'application/x-www-form-urlencoded';
        expect(pad('json', BODY_LIMIT + 1)).toHaveLength(BODY_LIMIT + 1);
        expectJsonError(await signIn('application/json', pad('json', BODY_LIMIT + 1)), 413, {
          error: 'payload_too_large',
        });
        // A form without the login token: the size is refused before loginCsrf() could refuse it.
        expectJsonError(await signIn(form, pad('form', BODY_LIMIT + 1)), 413, { error: 'payload_too_large' });
        const { cookie, csrf } = await h.login('alice');
        const big = await mutate({
          cookie,
          headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
          body: pad('json', BODY_LIMIT * 4),
        });
        expectJsonError(big, 413, { error: 'payload_too_large' });
        expect(h.counter.value).toBe(0);
        const atLimit = await signIn('application/json', pad('json', BODY_LIMIT));
        expect(atLimit.status).toBe(200);
        expect(sessionCookies(atLimit.setCookie)).toHaveLength(1);
      });

      test('a body of another type on the JSON sign-in route (login token sent): 400 bad_request, no session', async () => {
        const page = await h.loginForm();
        const token = { 'x-csrf-token': page.token };
        for (const type of ['application/xml', 'text/plain', 'application/octet-stream', null]) {
          const res = await signIn(type, credentials, token, page.cookie);
          expectJsonError(res, 400, BAD_REQUEST, String(type));
        }
        expect(await liveSessions()).toEqual([]);
      });

      test('two session cookies in one request: 401 and no cookie set, whichever comes first', async () => {
        const alice = await h.login('alice');
        const bob = await h.login('bob');
        const junk = 'cloakroom=junk';
        for (const cookie of [
          `${alice.cookie}; ${junk}`,
          `${junk}; ${alice.cookie}`,
          `${alice.cookie}; ${bob.cookie}`,
          `${alice.cookie}; ${alice.cookie}`,
        ]) {
          const res = await h.request('/me', { cookie });
          expectJsonError(res, 401, { error: 'unauthenticated', message: expect.any(String) }, cookie);
          expect(res.setCookie, cookie).toEqual([]);
        }
        expect((await h.request('/me', { cookie: alice.cookie })).status).toBe(200);
      });

      test('a Cookie header sent as several lines is read as one list', async () => {
        const { cookie } = await h.login('alice');
        const me = await h.request('/me', { headers: { cookie: ['theme=dark', cookie] } });
        expect(me.status).toBe(200);
        expect(me.json()).toMatchObject({ user: { username: 'alice' } });
        // …so a second session cookie on another line is still a duplicate.
        const twice = await h.request('/me', { headers: { cookie: [cookie, 'cloakroom=junk'] } });
        expectJsonError(twice, 401, { error: 'unauthenticated', message: expect.any(String) });
      });

      test('an oversized session cookie is cleared; a large foreign cookie beside a good one is no harm', async () => {
        const big = await h.request('/me', { cookie: `cloakroom=${'A'.repeat(5000)}` });
        expectJsonError(big, 401, { error: 'unauthenticated', message: expect.any(String) });
        expect(big.setCookie).toEqual([expect.stringMatching(/^cloakroom=; .*Max-Age=0/)]);
        const { cookie } = await h.login('alice');
        const beside = await h.request('/me', { cookie: `blob=${'b'.repeat(6000)}; ${cookie}` });
        expect(beside.status).toBe(200);
        expect(beside.setCookie).toEqual([]);
      });

      test('a missing, empty, forged, foreign, doubled or login CSRF token: 403 csrf and nothing done', async () => {
        const { cookie, csrf } = await h.login('alice');
        const other = await h.login('alice');
        const page = await h.loginForm();
        const flipped = csrf.startsWith('A') ? `B${csrf.slice(1)}` : `A${csrf.slice(1)}`;
        const headerTokens: [string, string | string[] | undefined][] = [
          ['none', undefined],
          ['empty', ''],
          ['made up', 'A'.repeat(csrf.length)],
          ['one character changed', flipped],
          ['cut short', csrf.slice(0, -1)],
          ['another session', other.csrf],
          ['the login token', page.token],
          ['sent twice', [csrf, csrf]],
        ];
        for (const [what, token] of headerTokens) {
          const res = await mutate({ cookie, headers: token === undefined ? {} : { 'x-csrf-token': token } });
          expectJsonError(res, 403, CSRF, what);
        }
        const form = { 'content-type': 'application/x-www-form-urlencoded' };
        for (const pair of [
          ['A'.repeat(csrf.length), csrf],
          [csrf, 'A'.repeat(csrf.length)],
          [csrf, csrf],
        ]) {
          const body = pair.map((t) => `_csrf=${encodeURIComponent(t)}`).join('&');
          expectJsonError(await mutate({ cookie, headers: form, body }), 403, CSRF, body);
        }
        expect(h.counter.value).toBe(0);
        // The control: the same request with the token once passes.
        expect((await mutate({ cookie, headers: { 'x-csrf-token': csrf } })).status).toBe(200);
      });
    });

    describe('store down', () => {
      test('a request with a session cookie gets 503 unavailable, no cookie and no driver detail', async () => {
        const { cookie } = await h.login('alice');
        await h.store.close();
        const res = await h.request('/me', { cookie });
        expectJsonError(res, 503, UNAVAILABLE);
        expect(res.text).not.toMatch(/sqlite|database|stack|Error:/i);
        expect(res.setCookie).toEqual([]);
      });

      test('an unsafe request with a valid token while the store is down: 503, not a 403 nor a success', async () => {
        const { cookie, csrf } = await h.login('alice');
        await h.store.close();
        for (const path of ['/mutate', '/logout', '/rotate', '/reauth']) {
          const res = await mutate({ cookie, headers: { 'x-csrf-token': csrf } }, path);
          expectJsonError(res, 503, UNAVAILABLE, path);
          expect(res.setCookie, path).toEqual([]);
        }
        expect(h.counter.value).toBe(0);
      });

      test('a request without a cookie never touches the store and is simply signed out', async () => {
        await h.store.close();
        expect((await h.request('/me')).status).toBe(401);
      });

      test('sign-in while the store is down answers 503 unavailable, not 500', async () => {
        await h.store.close();
        const { response } = await h.login('alice');
        expectJsonError(response, 503, UNAVAILABLE);
        expect(response.text).not.toMatch(/sqlite|database|stack|Error:/i);
        expect(sessionCookies(response.setCookie)).toEqual([]);
      });

      test('sign-out, rotation and re-authentication while the store refuses writes answer 503, and the session lives on', async () => {
        const { cookie, csrf } = await h.login('alice');
        const headers = { 'x-csrf-token': csrf };
        // Another process holds SQLite's write lock: reads (validation) work, the delete cannot.
        const release = h.lockWrites();
        try {
          for (const path of ['/logout', '/rotate', '/reauth']) {
            const res = await h.request(path, { method: 'POST', cookie, headers });
            expectJsonError(res, 503, UNAVAILABLE, path);
          }
        } finally {
          release();
        }
        // Not a false success: the session was never ended, and sign-out works once writes do.
        expect((await h.request('/me', { cookie })).status).toBe(200);
        expect((await h.request('/logout', { method: 'POST', cookie, headers })).status).toBe(204);
      });
    });
  });

  describe(`${name} adapter with trustProxy`, () => {
    let h: AdapterHarness;
    beforeEach(async () => {
      h = await factory({ trustProxy: true });
    });
    afterEach(async () => h.close());

    test('X-Forwarded-Proto: https gives the Secure __Host- cookie; the last X-Forwarded-For entry (what our proxy saw) is the client address', async () => {
      // An appending proxy: the client claimed 10.0.0.1, the proxy added the peer it saw.
      const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '10.0.0.1, 203.0.113.5' };
      const res = await h.request('/login', {
        method: 'POST',
        headers: { ...forwarded, 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: PASSWORD }),
      });
      expect(res.status).toBe(200);
      const cookie = res.setCookie.find((c) => c.startsWith('__Host-cloakroom='))!;
      expect(cookie).toMatch(/; Path=\/; HttpOnly; SameSite=Lax; Secure/);
      const pair = cookie.split(';')[0]!;
      expect((await h.request('/me', { cookie: pair })).status).toBe(401);
      const me = await h.request('/me', { cookie: pair, headers: forwarded });
      expect(me.json()).toMatchObject({ session: { ip: '203.0.113.5' } });
      const token = res.json<{ csrfToken: string }>().csrfToken;
      const sameOrigin = { ...forwarded, origin: 'https://app.test', 'x-csrf-token': token };
      expect((await h.request('/mutate', { method: 'POST', cookie: pair, headers: sameOrigin })).status).toBe(
        200,
      );
      const plainOrigin = { ...sameOrigin, origin: ORIGIN };
      expect(
        (await h.request('/mutate', { method: 'POST', cookie: pair, headers: plainOrigin })).status,
      ).toBe(403);
    });
  });

  dbscBehaviour(name, factory);
}
