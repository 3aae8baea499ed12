// What each runnable snippet (`<!-- snippet: run=NAME -->`) must do once started: real HTTP
// requests against it, checking what its doc says. A scenario names the users (and session) the
// harness creates in `data/app.db` of the app's working directory before it starts.
import { expect } from 'vitest';
import { type Answer, type Client, inputValue } from './http.js';

export interface SeedUser {
  username: string;
  password: string;
  roles: string[];
}

export interface Scenario {
  /** Created with `createAccount` in `data/app.db` before the app starts. */
  users: SeedUser[];
  /** A session for this user id is created too; its Set-Cookie lines go to `run`. */
  sessionFor?: string;
  run(client: Client, seeded: { setCookie: string[] }): Promise<void>;
}

const ALICE: SeedUser = { username: 'alice', password: 'velvet-orchard-1937', roles: ['admin', 'analyst'] };
const BOB: SeedUser = { username: 'bob', password: 'quiet-meadow-2048', roles: [] };
const FOREIGN = 'http://evil.test';

function tokenOf(client: Client, answer: Answer, step: string): string {
  const token = (answer.body as { csrfToken?: unknown } | undefined)?.csrfToken;
  expect(typeof token, `${client.where}: ${step}: csrfToken in ${answer.text}`).toBe('string');
  return token as string;
}

function expectSessionCookie(client: Client, answer: Answer, step: string): void {
  const line = answer.setCookie.find((c) => c.startsWith('cloakroom='));
  expect(
    line,
    `${client.where}: ${step}: a cloakroom= session cookie in ${answer.setCookie.join(' | ')}`,
  ).toBeTruthy();
  expect(line, `${client.where}: ${step}: HttpOnly`).toMatch(/;\s*HttpOnly/i);
}

/** The sign-in refusals every password sign-in route of the docs answers the same way. */
async function signInRefusals(client: Client): Promise<void> {
  const wrong = await client.request('wrong password', '/login', {
    json: { username: ALICE.username, password: 'not-the-password' },
  });
  client.expectStatus(wrong, 401, 'wrong password');
  client.expectBody(wrong, { error: 'invalid_credentials' }, 'wrong password');

  const malformed = await client.request('malformed JSON', '/login', {
    headers: { 'content-type': 'application/json' },
    raw: '{"username":',
  });
  client.expectStatus(malformed, 400, 'malformed JSON');

  const foreign = await client.request('sign-in from another origin (login CSRF)', '/login', {
    headers: { origin: FOREIGN },
    json: { username: ALICE.username, password: ALICE.password },
  });
  client.expectStatus(foreign, 403, 'sign-in from another origin (login CSRF)');
  expect(client.cookies.has('cloakroom'), `${client.where}: no session after a refused sign-in`).toBe(false);
}

/**
 * The app of docs/adapters.md (and docs/library.md's Hono app): a sign-in route for JSON and
 * forms behind login CSRF, `/me`, `/admin`, `/logout`, everything after it CSRF-checked.
 */
function jsonApi(loginPage: 'json' | 'html', formSignInStatus: 200 | 303): Scenario {
  return {
    users: [ALICE, BOB],
    async run(client) {
      const signedOut = await client.request('signed out', '/me');
      client.expectStatus(signedOut, 401, 'GET /me signed out');
      client.expectBody(signedOut, { error: 'unauthenticated' }, 'GET /me signed out');

      const unknown = await client.request('unknown path', '/no/such/page');
      client.expectStatus(unknown, 404, 'GET of an unknown path');

      await signInRefusals(client);

      const noToken = await client.request('form sign-in without the login token', '/login', {
        form: { username: ALICE.username, password: ALICE.password },
      });
      client.expectStatus(noToken, 403, 'form sign-in without the login token');

      // The login token: from the JSON route the doc shows, or from the sign-in form's `_csrf`.
      let loginToken: string | null;
      if (loginPage === 'json') {
        const page = await client.request('login token', '/login-token');
        client.expectStatus(page, 200, 'GET /login-token');
        loginToken = (page.body as { token?: string } | undefined)?.token ?? null;
      } else {
        const page = await client.request('sign-in form', '/login');
        client.expectStatus(page, 200, 'GET /login');
        loginToken = inputValue(page.text, '_csrf');
      }
      expect(loginToken, `${client.where}: a login token`).toBeTruthy();
      expect(client.cookies.has('cloakroom-login'), `${client.where}: the login nonce cookie`).toBe(true);

      const signedIn = await client.request('form sign-in with the login token', '/login', {
        form: { username: ALICE.username, password: ALICE.password, _csrf: loginToken ?? '' },
      });
      client.expectStatus(signedIn, formSignInStatus, 'form sign-in with the login token');
      if (formSignInStatus === 303) {
        expect(signedIn.headers.get('location'), `${client.where}: the redirect after a form sign-in`).toBe(
          '/me',
        );
      }
      expectSessionCookie(client, signedIn, 'form sign-in');

      const me = await client.request('signed in', '/me');
      client.expectStatus(me, 200, 'GET /me signed in');
      client.expectBody(me, { user: { username: ALICE.username, roles: ALICE.roles } }, 'GET /me');
      const csrf = tokenOf(client, me, 'GET /me');
      client.expectStatus(await client.request('admin', '/admin'), 200, 'GET /admin as an admin');

      const staleCookie = client.cookieHeader();
      const noCsrf = await client.request('sign-out without the CSRF token', '/logout', { method: 'POST' });
      client.expectStatus(noCsrf, 403, 'POST /logout without X-CSRF-Token');
      const out = await client.request('sign-out', '/logout', {
        method: 'POST',
        headers: { 'x-csrf-token': csrf },
      });
      client.expectStatus(out, 204, 'POST /logout with X-CSRF-Token');
      const replay = await client.request('the old cookie after sign-out', '/me', {
        headers: { cookie: staleCookie },
      });
      client.expectStatus(replay, 401, 'GET /me with the cookie of a signed-out session');

      const bob = await client.request('JSON sign-in', '/login', {
        json: { username: BOB.username, password: BOB.password },
      });
      client.expectStatus(bob, 200, 'JSON sign-in');
      client.expectBody(bob, { user: { username: BOB.username } }, 'JSON sign-in');
      tokenOf(client, bob, 'JSON sign-in');
      expectSessionCookie(client, bob, 'JSON sign-in');
      const forbidden = await client.request('admin without the role', '/admin');
      client.expectStatus(forbidden, 403, 'GET /admin without the admin role');
      client.expectBody(forbidden, { error: 'forbidden' }, 'GET /admin without the admin role');
    },
  };
}

export const SCENARIOS: Record<string, Scenario> = {
  /** The adapters of docs/adapters.md: the login token comes from `GET /login-token`. */
  'json-api': jsonApi('json', 200),
  /** docs/library.md's Hono app: an HTML sign-in form, a form sign-in redirects. */
  'hono-form': jsonApi('html', 303),

  /** README.md: a Hono app with JSON sign-in and a role-guarded `/reports`. */
  'hono-reports': {
    users: [ALICE, BOB],
    async run(client) {
      client.expectStatus(await client.request('signed out', '/reports'), 401, 'GET /reports signed out');
      client.expectStatus(
        await client.request('unknown path', '/no/such/page'),
        404,
        'GET of an unknown path',
      );
      await signInRefusals(client);

      const alice = await client.request('sign-in', '/login', {
        json: { username: ALICE.username, password: ALICE.password },
      });
      client.expectStatus(alice, 200, 'JSON sign-in');
      expectSessionCookie(client, alice, 'JSON sign-in');
      tokenOf(client, alice, 'JSON sign-in');
      const reports = await client.request('reports as an analyst', '/reports');
      client.expectStatus(reports, 200, 'GET /reports as an analyst');
      client.expectBody(reports, { hello: ALICE.username }, 'GET /reports as an analyst');

      const bob = await client.request('sign-in without the role', '/login', {
        json: { username: BOB.username, password: BOB.password },
      });
      client.expectStatus(bob, 200, 'JSON sign-in of a user without the role');
      client.expectStatus(await client.request('reports', '/reports'), 403, 'GET /reports without the role');
    },
  },

  /** docs/library.md's core example: a fetch handler that answers 401 or the session's user id. */
  'core-validate': {
    users: [],
    sessionFor: 'user-1',
    async run(client, seeded) {
      const none = await client.request('no cookie', '/');
      client.expectStatus(none, 401, 'no cookie');
      client.expectBody(none, { error: 'unauthenticated' }, 'no cookie');
      expect(none.headers.get('cache-control'), `${client.where}: no-store`).toBe('no-store');

      const forged = await client.request('a forged cookie', '/', {
        headers: { cookie: 'cloakroom=forged' },
      });
      client.expectStatus(forged, 401, 'a forged cookie');

      const cookie = seeded.setCookie.map((line) => line.split(';')[0]).join('; ');
      const valid = await client.request('a valid session cookie', '/anything', { headers: { cookie } });
      client.expectStatus(valid, 200, 'a valid session cookie');
      client.expectBody(valid, { userId: 'user-1' }, 'a valid session cookie');
    },
  },
};
