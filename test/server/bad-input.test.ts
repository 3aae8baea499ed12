import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BACKENDS, type Backend, startHarnessOn } from '../support/backends.js';
import {
  type HarnessInit,
  jsonOf,
  type Login,
  PASSWORD,
  type ServerHarness,
  sessionCookieOf,
} from '../support/server.js';

// Every case runs on SQLite and on PostgreSQL: PostgreSQL refuses some input SQLite takes
// (a NUL in text), and such a refusal must never reach a client as a 503 outage.
for (const backend of BACKENDS) describe(`bad input (${backend})`, () => badInputSuite(backend));

function badInputSuite(backend: Backend): void {
  let h: ServerHarness;
  let alice: Login;
  beforeAll(async () => {
    // Plenty of headroom: nothing here should ever count as a failed sign-in, but a bug that does
    // must show up as a wrong status, not as throttling noise.
    h = await startHarnessOn(backend, {
      env: { CLOAKROOM_THROTTLE_IP: '10000/15m', CLOAKROOM_THROTTLE_ACCOUNT: '1000/15m' },
    });
    alice = await h.login('alice');
  });
  afterAll(async () => h.close());

  interface Route {
    method: string;
    path: string;
    /** Whether the route reads a body (and so must refuse a bad one with 400). */
    body: boolean;
    /** Whether it needs alice's session and CSRF token. */
    session: boolean;
  }

  function routes(): Route[] {
    return [
      { method: 'POST', path: '/api/login', body: true, session: false },
      { method: 'PATCH', path: '/api/profile', body: true, session: true },
      { method: 'POST', path: '/api/password', body: true, session: true },
      { method: 'POST', path: '/api/admin/users', body: true, session: true },
      { method: 'PATCH', path: `/api/admin/users/${h.ids.bob}`, body: true, session: true },
      { method: 'POST', path: '/api/sessions/revoke-others', body: false, session: true },
      { method: 'DELETE', path: '/api/sessions/AAAAAAAAAAAAAAAAAAAAAA', body: false, session: true },
      { method: 'POST', path: `/api/admin/users/${h.ids.bob}/revoke-sessions`, body: false, session: true },
      { method: 'POST', path: '/api/logout', body: false, session: false },
    ];
  }

  const send = async (route: Route, init: HarnessInit) => {
    const res = await h.fetch(route.path, {
      method: route.method,
      ...(route.session ? { cookie: alice.cookie, csrf: alice.csrf } : {}),
      ...init,
    });
    // "Sign out everywhere else" hands this session a new ticket: carry on with it, as a browser would.
    const renewed = route.session ? sessionCookieOf(res) : null;
    if (renewed) alice.cookie = renewed;
    return res;
  };

  /** Every status seen in this file, to assert none was a 5xx. */
  const seen: Array<{ what: string; status: number }> = [];
  async function expectStatus(
    what: string,
    response: Promise<Response>,
    expected: number[],
  ): Promise<Response> {
    const res = await response;
    seen.push({ what, status: res.status });
    expect(res.status, what).toBeLessThan(500);
    expect(expected, `${what} → ${res.status}`).toContain(res.status);
    return res;
  }

  const JSON_TYPE = { 'content-type': 'application/json' };

  /** Bodies every body-reading route refuses with 400 (an admin PATCH naming no known field too). */
  const BAD_BODIES: Array<[string, string, Record<string, string>]> = [
    ['malformed JSON', '{"username":', JSON_TYPE],
    ['an empty JSON body', '', JSON_TYPE],
    ['a JSON array', '[{"username":"bob","password":"x"}]', JSON_TYPE],
    ['JSON null', 'null', JSON_TYPE],
    ['a JSON string', '"bob"', JSON_TYPE],
    ['a JSON number', '42', JSON_TYPE],
    ['wrong types', '{"username":["a"],"password":{"$ne":null}}', JSON_TYPE],
    ['a __proto__ payload', '{"__proto__":{"isAdmin":true,"username":"bob","displayName":"x"}}', JSON_TYPE],
    ['a constructor.prototype payload', '{"constructor":{"prototype":{"isAdmin":true}}}', JSON_TYPE],
    [
      'text/plain JSON',
      '{"username":"bob","password":"correct horse battery staple"}',
      { 'content-type': 'text/plain' },
    ],
    ['TEXT/PLAIN JSON', '{"displayName":"x"}', { 'content-type': 'TEXT/PLAIN;charset=utf-8' }],
    ['multipart', '--x\r\n\r\n--x--', { 'content-type': 'multipart/form-data; boundary=x' }],
    ['two media types', '{"displayName":"x"}', { 'content-type': 'application/json, text/plain' }],
    ['no Content-Type', '{"displayName":"x"}', {}],
    [
      'a repeated JSON key',
      '{"username":"a","username":"b","displayName":"x","displayName":"y","password":"p","password":"q"}',
      JSON_TYPE,
    ],
    [
      'a repeated form field',
      'username=a&username=b&displayName=x&displayName=y&password=p',
      {
        'content-type': 'application/x-www-form-urlencoded',
      },
    ],
  ];

  describe('bad bodies on every route that reads one: 400, never 5xx', () => {
    for (const [name, body, headers] of BAD_BODIES) {
      test(`${name} → 400 on every body route`, async () => {
        for (const route of routes().filter((r) => r.body)) {
          await expectStatus(
            `${route.method} ${route.path} with ${name}`,
            send(route, { body, headers }),
            [400],
          );
        }
        const bob = await h.deps.users.getById(h.ids.bob);
        expect(bob).toMatchObject({ roles: [], locked: false, displayName: 'bob' });
        const alice = await h.deps.users.getById(h.ids.alice);
        expect(alice).toMatchObject({ roles: ['admin'], locked: false, displayName: 'alice' });
        expect(await h.deps.users.getByUsername('a')).toBeNull();
        expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
      });
    }

    test('a repeated username on a form sign-in with a valid login token → 400', async () => {
      const { cookie, token } = h.loginFormToken();
      await expectStatus(
        'form login with username twice',
        h.fetch('/api/login', { cookie, form: `username=alice&username=bob&password=x&_csrf=${token}` }),
        [400],
      );
    });

    test('routes that take no body ignore a bad one, and never fail with 5xx', async () => {
      for (const route of routes().filter((r) => !r.body && r.path !== '/api/logout')) {
        for (const [name, body, headers] of BAD_BODIES) {
          await expectStatus(
            `${route.method} ${route.path} with ${name}`,
            send(route, { body, headers }),
            [200, 204, 400, 404],
          );
        }
      }
      // alice is still signed in: nothing here was her sign-out.
      expect((await h.fetch('/api/session', { cookie: alice.cookie })).status).toBe(200);
    });
  });

  describe('repeated JSON keys: 400, whichever copy a parser would keep', () => {
    /** The live sessions of alice and bob, to show a refused sign-in signed nobody in. */
    const liveSessions = async () =>
      (await h.deps.sessions.list(h.ids.alice)).length + (await h.deps.sessions.list(h.ids.bob)).length;

    /** A sign-in with `body` (raw JSON text): 400 bad_request naming `key`, and no session. */
    async function expectRefused(what: string, body: string, key: string): Promise<void> {
      const before = await liveSessions();
      const res = await expectStatus(what, h.fetch('/api/login', { body, headers: JSON_TYPE }), [400]);
      expect(await jsonOf(res), what).toEqual({
        error: 'bad_request',
        message: `The key ${JSON.stringify(key)} is repeated.`,
      });
      expect(
        res.headers.getSetCookie().filter((c) => c.startsWith('cloakroom=')),
        what,
      ).toEqual([]);
      expect(await liveSessions(), what).toBe(before);
    }

    test('a sign-in naming two usernames signs nobody in (JSON.parse alone keeps the last one)', async () => {
      // Regression: `{"username":"bob","username":"alice",…}` signed in alice, while anything
      // that read the first copy (a WAF, an audit trail) saw bob.
      await expectRefused(
        'bob then alice',
        `{"username":"bob","username":"alice","password":"${PASSWORD}"}`,
        'username',
      );
      await expectRefused(
        'alice then bob',
        `{"username":"alice","password":"${PASSWORD}","username":"bob"}`,
        'username',
      );
      await expectRefused(
        'the password twice',
        `{"username":"bob","password":"wrong","password":"${PASSWORD}"}`,
        'password',
      );
    });

    test('a repeated key in a nested object or inside an array is refused too', async () => {
      const creds = `"username":"bob","password":"${PASSWORD}"`;
      await expectRefused('nested object', `{${creds},"extra":{"a":1,"a":2}}`, 'a');
      await expectRefused('object in an array', `{${creds},"extra":[1,{"b":{"c":1,"c":[2]}}]}`, 'c');
      await expectRefused('deep', `{${creds},"x":${'{"y":'.repeat(50)}{"z":1,"z":1}${'}'.repeat(50)}}`, 'z');
    });

    test('keys spelled with different escapes are the same key', async () => {
      await expectRefused(
        '\\u0075sername',
        `{"username":"bob","\\u0075sername":"alice","password":"${PASSWORD}"}`,
        'username',
      );
      await expectRefused(
        'a and \\u0061',
        `{"username":"bob","password":"${PASSWORD}","x":{"a":1,"\\u0061":2}}`,
        'a',
      );
      await expectRefused(
        'an escaped slash',
        `{"username":"bob","password":"${PASSWORD}","a/b":1,"a\\/b":2}`,
        'a/b',
      );
    });

    test('the message quotes at most 40 characters of the key', async () => {
      const key = `"\n${'k'.repeat(60)}`;
      const body = `{"username":"bob","password":"${PASSWORD}",${JSON.stringify(key)}:1,${JSON.stringify(key)}:2}`;
      await expectRefused('a long key', body, key.slice(0, 40));
    });

    test('a normal body still signs in: equal keys in different objects, and a value that spells a key, are fine', async () => {
      const body = JSON.stringify({
        username: 'bob',
        password: PASSWORD,
        extra: { username: 'alice', list: [{ a: 1 }, { a: 2 }] },
        note: 'username',
      });
      const res = await expectStatus(
        'normal body',
        h.fetch('/api/login', { body, headers: JSON_TYPE }),
        [200],
      );
      expect(await jsonOf(res)).toMatchObject({ user: { username: 'bob' } });
      // Deep nesting that JSON.parse accepts does not overflow the duplicate check either.
      const deep = `{"username":"bob","password":"${PASSWORD}","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
      await expectStatus(
        '20,000 nested arrays',
        h.fetch('/api/login', { body: deep, headers: JSON_TYPE }),
        [200],
      );
    });
  });

  describe('oversized input', () => {
    test('a body over 64 KiB → 413 on every unsafe route', async () => {
      const big = JSON.stringify({ username: 'bob', password: 'x'.repeat(70 * 1024) });
      for (const route of routes()) {
        const res = await expectStatus(
          `${route.method} ${route.path} with 70 KiB`,
          send(route, { body: big, headers: JSON_TYPE }),
          [413],
        );
        expect(await jsonOf(res)).toMatchObject({ error: 'payload_too_large' });
      }
    });

    test('a body of exactly 64 KiB is not refused for its size', async () => {
      const filler = 'x'.repeat(64 * 1024 - JSON.stringify({ displayName: '' }).length);
      const body = JSON.stringify({ displayName: filler });
      expect(Buffer.byteLength(body)).toBe(64 * 1024);
      await expectStatus('64 KiB profile', send(routes()[1]!, { body, headers: JSON_TYPE }), [400]);
    });

    test('a streamed (chunked, no Content-Length) body over 64 KiB → 413', async () => {
      const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 8) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const res = await fetch(`${h.url}/api/login`, {
        method: 'POST',
        headers: JSON_TYPE,
        body: stream,
        duplex: 'half',
      } as RequestInit & { duplex: 'half' });
      seen.push({ what: 'chunked 128 KiB', status: res.status });
      expect(res.status).toBe(413);
    });

    test('a 1 MB username in JSON is refused quickly (413), never hashed', async () => {
      // Its own server: the server drops this connection afterwards (see the next test), and
      // fetch pools connections per origin, so the shared server's pool stays clean.
      const own = await startHarnessOn(backend, { users: false });
      try {
        const started = performance.now();
        const res = await expectStatus(
          '1 MB username',
          own.fetch('/api/login', { json: { username: 'u'.repeat(1024 * 1024), password: PASSWORD } }),
          [400, 413],
        );
        await res.text();
        expect(performance.now() - started).toBeLessThan(2_000);
      } finally {
        await own.close();
      }
    });

    test('a 413 that leaves the body unread says Connection: close (the server drops that socket anyway)', async () => {
      // @hono/node-server drains an unread body for at most 500 ms and then destroys the socket;
      // answering `Connection: keep-alive` invites the client to send its next request onto a
      // socket that is about to be dropped ("other side closed" on an innocent request).
      const own = await startHarnessOn(backend, { users: false });
      try {
        const res = await own.fetch('/api/login', {
          json: { username: 'u'.repeat(1024 * 1024), password: PASSWORD },
        });
        expect(res.status).toBe(413);
        await res.text();
        expect(res.headers.get('connection')).toBe('close');
      } finally {
        await own.close();
      }
    });

    test('a username or password just under the body limit but over the field limits → 400 quickly', async () => {
      const started = performance.now();
      await expectStatus(
        '40 KB username',
        h.fetch('/api/login', { json: { username: 'u'.repeat(40_000), password: 'x' } }),
        [400],
      );
      await expectStatus(
        '40 KB password',
        h.fetch('/api/login', { json: { username: 'bob', password: 'p'.repeat(40_000) } }),
        [400],
      );
      await expectStatus(
        '1025-byte password',
        h.fetch('/api/login', { json: { username: 'bob', password: 'p'.repeat(1025) } }),
        [400],
      );
      expect(performance.now() - started).toBeLessThan(2_000);
    });

    test('an 8 KB Cookie header → 401, not 5xx', async () => {
      await expectStatus(
        '8 KB cookie',
        h.fetch('/api/session', { cookie: `cloakroom=${'a'.repeat(8 * 1024)}` }),
        [401],
      );
      await expectStatus(
        '8 KB other cookies',
        h.fetch('/api/session', { cookie: `x=${'a'.repeat(8 * 1024)}` }),
        [401],
      );
      await expectStatus(
        '8 KB cookie on verify',
        h.fetch('/auth/verify', { cookie: `cloakroom=${'a'.repeat(8 * 1024)}` }),
        [401],
      );
    });

    test('a 64 KB Cookie header is refused early (431/400) and the server keeps serving', async () => {
      const own = await startHarnessOn(backend, { users: false });
      try {
        const res = await own
          .fetch('/api/session', { cookie: `cloakroom=${'a'.repeat(64 * 1024)}` })
          .catch(() => null);
        // Node answers 431 itself (header limit); a dropped connection is acceptable too, a 5xx is not.
        if (res) {
          seen.push({ what: '64 KB cookie', status: res.status });
          expect([400, 413, 431]).toContain(res.status);
        }
        expect((await own.fetch('/healthz')).status).toBe(200);
      } finally {
        await own.close();
      }
    });

    test('malformed session cookies → 401, never 5xx', async () => {
      const [token, signature] = alice.cookie.split('=')[1]!.split('.');
      const values = [
        '',
        '.',
        '..',
        'garbage',
        `${token}`,
        `${token}.`,
        `.${signature}`,
        `${token}.${signature}.x`,
        // Another canonical last character (never the real one: that would be the real cookie).
        `${token}.${signature!.slice(0, -1)}${signature!.endsWith('A') ? 'E' : 'A'}`,
        `${token!.toUpperCase()}.${signature}`,
        encodeURIComponent(`${token}.${signature}`).replace(/\./g, '%2E'),
        '%00',
        '{"__proto__":1}',
        'é'.repeat(50),
        `"${token}.${signature}"`,
      ];
      for (const value of values) {
        await expectStatus(
          `cookie ${JSON.stringify(value).slice(0, 40)}`,
          h.fetch('/api/session', { cookie: `cloakroom=${value}` }),
          [401],
        );
      }
    });
  });

  describe('prototype keys are inert', () => {
    test('a sign-in carrying __proto__ roles is an ordinary sign-in with the stored roles', async () => {
      const body = `{"username":"bob","password":"${PASSWORD}","__proto__":{"roles":["admin"],"id":"${h.ids.alice}"}}`;
      const res = await expectStatus(
        'login with __proto__',
        h.fetch('/api/login', { body, headers: JSON_TYPE }),
        [200],
      );
      const { user } = await jsonOf<{ user: { id: string; roles: string[] } }>(res);
      expect(user).toMatchObject({ id: h.ids.bob, roles: [] });
      const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!;
      await expectStatus(
        'verify admin after __proto__ login',
        h.fetch('/auth/verify?role=admin', { cookie }),
        [403],
      );
    });

    test('creating a user with __proto__ roles gives no roles', async () => {
      const body = `{"username":"protouser","password":"${PASSWORD}","__proto__":{"roles":["admin"]}}`;
      const res = await expectStatus(
        'create with __proto__',
        send(routes()[3]!, { body, headers: JSON_TYPE }),
        [201],
      );
      expect((await jsonOf<{ user: { roles: string[] } }>(res)).user.roles).toEqual([]);
    });
  });

  describe('unknown routes and path variants', () => {
    test('an unknown API route → 404 JSON not_found', async () => {
      for (const path of ['/api/nope', '/api/admin/nope', '/api/sessions/a/b', '/auth/nope']) {
        const res = await expectStatus(`GET ${path}`, h.fetch(path, { cookie: alice.cookie }), [404]);
        expect(await jsonOf(res)).toMatchObject({ error: 'not_found' });
      }
    });

    test('path variants of /api/login do not reach the login route (404)', async () => {
      for (const path of [
        '//api/login',
        '/api/login/',
        '/API/LOGIN',
        '/Api/Login',
        '/api//login',
        '/api/login;x',
      ]) {
        await expectStatus(
          `POST ${path}`,
          h.fetch(path, { json: { username: 'bob', password: PASSWORD } }),
          [404],
        );
      }
    });

    test('a percent-encoded path that does reach the login route shares its throttle (no bypass)', async () => {
      const own = await startHarnessOn(backend);
      try {
        const paths = ['/api/login', '/api/%6cogin', '/api/l%6Fgin', '/%61pi/login', '/api/login'];
        for (const [i, path] of paths.entries()) {
          await expectStatus(
            `POST ${path}`,
            own.fetch(path, { json: { username: 'bob', password: `wrong ${i} password` } }),
            [401, 404],
          );
        }
        // However the five failures were spelled, the account is locked for every spelling.
        for (const path of ['/api/login', '/api/%6cogin']) {
          await expectStatus(
            `POST ${path} after a burst`,
            own.fetch(path, { json: { username: 'bob', password: PASSWORD } }),
            [404, 429],
          );
        }
        const direct = await own.fetch('/api/login', { json: { username: 'bob', password: PASSWORD } });
        const failures = own.logs.filter((l) => l.event === 'login.failure').length;
        expect(direct.status).toBe(failures >= 5 ? 429 : 200);
      } finally {
        await own.close();
      }
    });

    test('path variants of admin routes are not a way around the role check', async () => {
      const bob = await h.login('bob');
      for (const path of ['//api/admin/users', '/api/admin/users/', '/API/ADMIN/USERS', '/api/Admin/users']) {
        const res = await expectStatus(
          `GET ${path} as bob`,
          h.fetch(path, { cookie: bob.cookie }),
          [403, 404],
        );
        expect(await res.text()).not.toContain(h.ids.alice);
      }
    });

    test('unknown and odd methods → 4xx', async () => {
      for (const method of ['PUT', 'OPTIONS', 'PROPFIND', 'GET']) {
        await expectStatus(`${method} /api/login`, h.fetch('/api/login', { method }), [400, 403, 404, 405]);
      }
      await expectStatus(
        'PUT /api/profile',
        h.fetch('/api/profile', { method: 'PUT', cookie: alice.cookie, csrf: alice.csrf, json: {} }),
        [404, 405],
      );
      await expectStatus(
        'GET state-changing route',
        h.fetch('/api/sessions/revoke-others', { cookie: alice.cookie }),
        [404, 405],
      );
    });
  });

  describe('malformed ids in route params: 404 not_found, never a store error', () => {
    // Regression: with DATABASE_URL, `a%00b` reached PostgreSQL, which refuses a NUL in text;
    // the driver error read as an outage: 503 and a store.unavailable alert.
    const userIds = () => [
      'a%00b',
      `${h.ids.bob}%00`,
      `${h.ids.bob.slice(0, -1)}%00`,
      'not-a-uuid',
      h.ids.bob.toUpperCase(),
      `${h.ids.bob}x`,
      '%E2%80%AE',
      '%FF%FE',
      'x'.repeat(300),
      "'%20OR%20'1'='1",
      '00000000-0000-0000-0000-000000000000',
    ];
    const sessionIds = [
      'a%00b',
      `${'A'.repeat(21)}%00`,
      'A'.repeat(21),
      'A'.repeat(23),
      `${'A'.repeat(20)}%2B%2F`,
      '%E2%80%AE'.repeat(3),
      'x'.repeat(300),
    ];

    test('PATCH /api/admin/users/:id and POST …/revoke-sessions', async () => {
      for (const id of userIds()) {
        for (const [method, path, json] of [
          ['PATCH', `/api/admin/users/${id}`, { locked: true }],
          ['POST', `/api/admin/users/${id}/revoke-sessions`, undefined],
        ] as const) {
          const res = await expectStatus(
            `${method} ${path.slice(0, 80)}`,
            send({ method, path, body: true, session: true }, json ? { json } : {}),
            [404],
          );
          expect(await jsonOf(res)).toEqual({ error: 'not_found', message: 'No such user.' });
        }
      }
      expect((await h.deps.users.getById(h.ids.bob))?.locked).toBe(false);
    });

    test('DELETE /api/sessions/:id', async () => {
      for (const id of sessionIds) {
        const res = await expectStatus(
          `DELETE /api/sessions/${id.slice(0, 60)}`,
          send({ method: 'DELETE', path: `/api/sessions/${id}`, body: false, session: true }, {}),
          [404],
        );
        expect(await jsonOf(res)).toEqual({ error: 'not_found', message: 'No such session.' });
      }
    });

    test('the admin and account pages: the page again, saying "no such user/session"', async () => {
      const form = { _csrf: alice.csrf, roles: 'admin' };
      for (const id of userIds()) {
        for (const action of ['roles', 'lock', 'unlock', 'revoke-sessions']) {
          const res = await expectStatus(
            `POST /admin/users/${id.slice(0, 60)}/${action}`,
            h.fetch(`/admin/users/${id}/${action}`, { cookie: alice.cookie, form }),
            [404],
          );
          expect(await res.text()).toContain('No such user.');
        }
      }
      for (const id of sessionIds) {
        const res = await expectStatus(
          `POST /account/sessions/${id.slice(0, 60)}/revoke`,
          h.fetch(`/account/sessions/${id}/revoke`, { cookie: alice.cookie, form }),
          [303],
        );
        expect(res.headers.get('location')).toBe('/account');
      }
      expect(await h.deps.users.getById(h.ids.bob)).toMatchObject({ roles: [], locked: false });
      expect((await h.fetch('/api/session', { cookie: alice.cookie })).status).toBe(200);
    });

    test('no request here was logged as a store outage', () => {
      expect(h.logs.filter((l) => l.event === 'store.unavailable')).toEqual([]);
    });
  });

  describe('the whole run', () => {
    test('no answer in this file was a 5xx, the server still serves, and nothing was logged as unhandled', async () => {
      expect(seen.length).toBeGreaterThan(100);
      expect(seen.filter((s) => s.status >= 500)).toEqual([]);
      expect((await h.fetch('/healthz')).status).toBe(200);
      expect((await h.fetch('/api/session', { cookie: alice.cookie })).status).toBe(200);
      expect(h.logs.filter((l) => l.msg === 'unhandled error' || l.level === 'error')).toEqual([]);
    });
  });
}
