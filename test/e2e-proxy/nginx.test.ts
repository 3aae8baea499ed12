// Forward auth through a real nginx (`auth_request`), with the configuration printed in
// docs/forward-auth.md: cloakroom serves / (login API and pages), an echo service stands for a
// protected application at /app/ and an admin-only one at /admin-app/. The echo service records
// every request, so "never reached" is checked, not assumed. docs/security.md rows 70, 71, 75, 76.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { freePort } from '../support/services.js';
import { documentedNginxConfig, replaceOnce } from './docs-config.js';
import { type EchoServer, type NginxProcess, nginxConfig, startEchoServer, startNginx } from './nginx.js';

const ADMIN_PASSWORD = 'gateway secret phrase 1';
const BOB_PASSWORD = 'gateway lantern phrase 22';

let echo: EchoServer;
let server: ServerProcess;
let nginx: NginxProcess;
let adminId = '';
let bobId = '';

interface Call {
  method?: string;
  cookie?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** A request to nginx; never follows redirects. */
function call(path: string, options: Call = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  if (options.cookie) headers.set('cookie', options.cookie);
  return fetch(`${nginx.origin}${path}`, {
    method: options.method ?? 'GET',
    headers,
    redirect: 'manual',
    ...(options.body === undefined ? {} : { body: options.body }),
  });
}

/** JSON sign-in through nginx (no Origin: a script, like curl). */
async function login(
  username: string,
  password: string,
): Promise<{ cookie: string; csrf: string; id: string }> {
  const res = await call('/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expect(res.status, `sign-in of ${username} through nginx`).toBe(200);
  const body = (await res.json()) as { csrfToken: string; user: { id: string } };
  const pair = res.headers.getSetCookie()[0]?.split(';')[0] ?? '';
  expect(pair).toMatch(/^cloakroom=/);
  return { cookie: pair, csrf: body.csrfToken, id: body.user.id };
}

/** Runs `action` and returns how many requests the protected service received meanwhile. */
async function reached(action: () => Promise<unknown>): Promise<number> {
  const before = echo.received.length;
  await action();
  return echo.received.length - before;
}

beforeAll(async () => {
  echo = await startEchoServer();
  server = await startServerProcess({
    CLOAKROOM_ADMIN_USER: 'admin',
    CLOAKROOM_ADMIN_PASSWORD: ADMIN_PASSWORD,
    // nginx overwrites X-Forwarded-Proto/-Host/-For in every location of the documented config.
    CLOAKROOM_TRUST_PROXY: 'true',
  });
  const cloakroomPort = new URL(server.url).port;
  const port = await freePort();
  let config = documentedNginxConfig();
  config = replaceOnce(config, 'listen 80;', `listen 127.0.0.1:${port};`);
  config = replaceOnce(config, 'server 127.0.0.1:3000;', `server 127.0.0.1:${cloakroomPort};`);
  config = replaceOnce(config, 'server 127.0.0.1:8080;', `server 127.0.0.1:${echo.port};`);
  config = replaceOnce(config, 'server 127.0.0.1:8081;', `server 127.0.0.1:${echo.port};`);
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-nginx-'));
  nginx = await startNginx(nginxConfig(dir, config), port, dir);

  // bob (no roles) is created by the admin through the gateway, as a browser would: same origin.
  const admin = await login('admin', ADMIN_PASSWORD);
  adminId = admin.id;
  const created = await call('/api/admin/users', {
    method: 'POST',
    cookie: admin.cookie,
    headers: { 'content-type': 'application/json', 'x-csrf-token': admin.csrf, origin: nginx.origin },
    body: JSON.stringify({ username: 'bob', password: BOB_PASSWORD, roles: [] }),
  });
  expect(created.status, await created.clone().text()).toBe(201);
  bobId = ((await created.json()) as { user: { id: string } }).user.id;
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  await server?.stop();
  await echo?.close();
});

describe('nginx auth_request → /auth/verify', () => {
  test('without a session the protected services are never reached: 401', async () => {
    const count = await reached(async () => {
      for (const [method, path] of [
        ['GET', '/app/'],
        ['GET', '/app/reports?year=2026'],
        ['HEAD', '/app/x'],
        ['POST', '/app/x'],
        ['DELETE', '/app/x'],
        ['GET', '/admin-app/'],
        ['POST', '/admin-app/users'],
      ] as const) {
        const res = await call(path, { method, ...(method === 'POST' ? { body: 'a=1' } : {}) });
        expect(res.status, `${method} ${path}`).toBe(401);
      }
      // A forged or stale cookie is no better than none.
      const forged = await call('/app/', { cookie: 'cloakroom=AAAA.BBBB' });
      expect(forged.status).toBe(401);
    });
    expect(count).toBe(0);
  });

  test('a signed-out browser opening a page is sent to /login?next=<the page, whole query included>; scripts and unsafe methods get 401', async () => {
    const page = '/app/reports?year=2026&tab=costs&q=a%26b';
    const count = await reached(async () => {
      const res = await call(page, { headers: { accept: 'text/html,*/*;q=0.8' } });
      expect(res.status).toBe(302);
      const location = new URL(res.headers.get('location')!, nginx.origin);
      expect(location.origin + location.pathname).toBe(`${nginx.origin}/login`);
      // The page comes back whole: nginx's own /login?next=$request_uri lost `&tab=…` here.
      expect(location.searchParams.get('next')).toBe(page);
      expect([...location.searchParams.keys()]).toEqual(['next']);
      const post = await call('/app/x', { method: 'POST', headers: { accept: 'text/html' }, body: 'a=1' });
      expect(post.status).toBe(401);
      expect((await call('/app/x', { headers: { accept: 'application/json' } })).status).toBe(401);
    });
    expect(count).toBe(0);
    // The sign-in page it points to is cloakroom's, on the same host, and keeps the whole page.
    const login = await call(`/login?next=${encodeURIComponent(page)}`);
    expect(login.status).toBe(200);
    expect(await login.text()).toContain(
      'name="next" value="/app/reports?year=2026&amp;tab=costs&amp;q=a%26b"',
    );
  });

  test('the auth location is internal: a client cannot call /_auth itself', async () => {
    const count = await reached(async () => {
      expect((await call('/_auth')).status).toBe(404);
      expect((await call('/_auth_admin')).status).toBe(404);
    });
    expect(count).toBe(0);
  });

  test('signed in through nginx, the service receives X-Auth-User, X-Auth-User-Id, X-Auth-Roles and X-Auth-Methods', async () => {
    const admin = await login('admin', ADMIN_PASSWORD);
    const res = await call('/app/dashboard?tab=1', { cookie: admin.cookie });
    expect(res.status).toBe(200);
    const last = echo.received.at(-1)!;
    expect(last.url).toBe('/app/dashboard?tab=1');
    expect(last.headers['x-auth-user']).toBe('admin');
    expect(last.headers['x-auth-user-id']).toBe(adminId);
    expect(last.headers['x-auth-roles']).toBe('admin');
    expect(last.headers['x-auth-methods']).toBe('pwd');

    const bob = await login('bob', BOB_PASSWORD);
    expect((await call('/app/', { cookie: bob.cookie })).status).toBe(200);
    const seen = echo.received.at(-1)!.headers;
    expect(seen['x-auth-user']).toBe('bob');
    expect(seen['x-auth-user-id']).toBe(bobId);
    // bob has no roles: the (empty) header is not sent at all.
    expect(seen['x-auth-roles']).toBeUndefined();
  });

  test('a non-ASCII username reaches the service percent-encoded (UTF-8), and decodes back', async () => {
    const admin = await login('admin', ADMIN_PASSWORD);
    const created = await call('/api/admin/users', {
      method: 'POST',
      cookie: admin.cookie,
      headers: { 'content-type': 'application/json', 'x-csrf-token': admin.csrf, origin: nginx.origin },
      body: JSON.stringify({ username: 'zoë', password: BOB_PASSWORD, roles: [] }),
    });
    expect(created.status).toBe(201);
    const zoe = await login('zoë', BOB_PASSWORD);
    expect((await call('/app/', { cookie: zoe.cookie })).status).toBe(200);
    const header = String(echo.received.at(-1)!.headers['x-auth-user']);
    expect(header).toBe('zo%C3%AB');
    expect(decodeURIComponent(header)).toBe('zoë');
  });

  test('client-sent X-Auth-* headers (and underscore/case variants) cannot choose the identity', async () => {
    const variants = ['X-Auth-User', 'X-Auth_User', 'x-auth-user', 'X_AUTH_USER'];
    const extra = {
      'X-Auth-User-Id': adminId,
      'X-Auth-Roles': 'admin',
      'X-Auth_Roles': 'admin',
      'X-Auth-Methods': 'pwd,otp',
    };

    // Without a session: 401, and the service never sees the forged headers.
    const anonymous = await reached(async () => {
      for (const name of variants) {
        const res = await call('/app/', { headers: { [name]: 'admin', ...extra } });
        expect(res.status, name).toBe(401);
        const admin = await call('/admin-app/', { headers: { [name]: 'admin', ...extra } });
        expect(admin.status, name).toBe(401);
      }
    });
    expect(anonymous).toBe(0);

    // With bob's session: the service sees bob, and only the gateway's headers.
    const bob = await login('bob', BOB_PASSWORD);
    for (const name of variants) {
      const res = await call('/app/', { cookie: bob.cookie, headers: { [name]: 'admin', ...extra } });
      expect(res.status, name).toBe(200);
      const seen = echo.received.at(-1)!.headers;
      expect(seen['x-auth-user'], name).toBe('bob');
      expect(seen['x-auth-user-id'], name).toBe(bobId);
      expect(seen['x-auth-roles'], name).toBeUndefined();
      // A password-only session cannot pass for one that proved a code.
      expect(seen['x-auth-methods'], name).toBe('pwd');
      // No underscore variant reaches a service that might treat "_" as "-".
      expect(
        Object.keys(seen).filter((h) => h.includes('_')),
        name,
      ).toEqual([]);
      const echoed = (await res.json()) as { auth: Record<string, string> };
      expect(echoed.auth).toEqual({ 'x-auth-user': 'bob', 'x-auth-user-id': bobId, 'x-auth-methods': 'pwd' });
    }
    // …and bob cannot reach the admin service by claiming the role.
    const denied = await reached(async () => {
      const res = await call('/admin-app/', { cookie: bob.cookie, headers: { 'X-Auth-Roles': 'admin' } });
      expect(res.status).toBe(403);
    });
    expect(denied).toBe(0);
  });

  test('the role-restricted location refuses a non-admin (403) and admits the admin', async () => {
    const bob = await login('bob', BOB_PASSWORD);
    const refused = await reached(async () => {
      expect((await call('/admin-app/', { cookie: bob.cookie })).status).toBe(403);
      expect((await call('/admin-app/users?all=1', { cookie: bob.cookie })).status).toBe(403);
    });
    expect(refused).toBe(0);
    // bob still reaches the service that needs no role.
    expect((await call('/app/', { cookie: bob.cookie })).status).toBe(200);

    const admin = await login('admin', ADMIN_PASSWORD);
    const res = await call('/admin-app/users', { cookie: admin.cookie });
    expect(res.status).toBe(200);
    const last = echo.received.at(-1)!;
    expect(last.url).toBe('/admin-app/users');
    expect(last.headers['x-auth-user']).toBe('admin');
    expect(last.headers['x-auth-roles']).toBe('admin');
  });

  test('sign-out closes the services at once: the next request is 401 (no cache, no grace period)', async () => {
    const bob = await login('bob', BOB_PASSWORD);
    expect((await call('/app/', { cookie: bob.cookie })).status).toBe(200);
    const out = await call('/api/logout', {
      method: 'POST',
      cookie: bob.cookie,
      headers: { 'x-csrf-token': bob.csrf, origin: nginx.origin },
    });
    expect(out.status).toBe(204);
    const count = await reached(async () => {
      expect((await call('/app/', { cookie: bob.cookie })).status).toBe(401);
    });
    expect(count).toBe(0);
  });

  test('an admin revoking a user’s sessions closes the services for that user on the next request', async () => {
    const bob = await login('bob', BOB_PASSWORD);
    expect((await call('/app/', { cookie: bob.cookie })).status).toBe(200);
    const admin = await login('admin', ADMIN_PASSWORD);
    const revoke = await call(`/api/admin/users/${bobId}/revoke-sessions`, {
      method: 'POST',
      cookie: admin.cookie,
      headers: { 'x-csrf-token': admin.csrf, origin: nginx.origin },
    });
    expect(revoke.status).toBe(200);
    expect((await call('/app/', { cookie: bob.cookie })).status).toBe(401);
    expect((await call('/app/', { cookie: admin.cookie })).status).toBe(200);
  });
});

describe('nginx forward auth: the CSRF gate on unsafe methods', () => {
  test('a cross-site POST/PUT/DELETE with a valid cookie is refused (403) and never reaches the service', async () => {
    const bob = await login('bob', BOB_PASSWORD);
    const attacks: Array<[string, Record<string, string>]> = [
      ['POST', { origin: 'http://evil.test' }],
      ['POST', { 'sec-fetch-site': 'cross-site' }],
      ['POST', { origin: 'http://evil.test', 'sec-fetch-site': 'cross-site' }],
      // A sibling site or another port of this host is refused like a foreign site.
      ['POST', { 'sec-fetch-site': 'same-site' }],
      ['POST', { origin: `http://127.0.0.1:${nginx.port + 1}` }],
      ['POST', { origin: 'null' }],
      ['PUT', { origin: 'http://evil.test' }],
      ['PATCH', { 'sec-fetch-site': 'cross-site' }],
      ['DELETE', { origin: 'http://evil.test' }],
      // Forwarding headers the client made up change nothing: the gateway overwrites them.
      ['POST', { origin: 'http://evil.test', 'x-forwarded-host': 'evil.test' }],
      ['POST', { 'sec-fetch-site': 'cross-site', 'x-forwarded-method': 'GET', 'x-original-method': 'GET' }],
    ];
    const count = await reached(async () => {
      for (const [method, headers] of attacks) {
        const res = await call('/app/transfer', { method, cookie: bob.cookie, headers, body: 'amount=100' });
        expect(res.status, `${method} ${JSON.stringify(headers)}`).toBe(403);
      }
    });
    expect(count).toBe(0);
  });

  test('a same-origin POST (Origin = the gateway’s own origin) reaches the service with its body', async () => {
    const bob = await login('bob', BOB_PASSWORD);
    const res = await call('/app/transfer', {
      method: 'POST',
      cookie: bob.cookie,
      headers: {
        origin: nginx.origin,
        'sec-fetch-site': 'same-origin',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'amount=100',
    });
    expect(res.status).toBe(200);
    const last = echo.received.at(-1)!;
    expect(last.method).toBe('POST');
    expect(last.body).toBe('amount=100');
    expect(last.headers['x-auth-user']).toBe('bob');
  });

  test('a POST with neither Origin nor Sec-Fetch-Site (a script, not a browser) passes the gate', async () => {
    const bob = await login('bob', BOB_PASSWORD);
    expect((await call('/app/x', { method: 'POST', cookie: bob.cookie, body: 'a=1' })).status).toBe(200);
  });

  test('safe methods pass even cross-site: a link from another site still opens the service', async () => {
    const bob = await login('bob', BOB_PASSWORD);
    const res = await call('/app/page', {
      cookie: bob.cookie,
      headers: { 'sec-fetch-site': 'cross-site', origin: 'http://evil.test' },
    });
    expect(res.status).toBe(200);
  });
});

describe('the verify answer itself', () => {
  test('is Cache-Control: no-store whatever the outcome', async () => {
    const bob = await login('bob', BOB_PASSWORD);
    for (const [path, cookie, status] of [
      ['/auth/verify', bob.cookie, 200],
      ['/auth/verify', undefined, 401],
      ['/auth/verify?role=admin', bob.cookie, 403],
      ['/auth/verify?role=Bad!', bob.cookie, 400],
    ] as const) {
      const res = await call(path, cookie ? { cookie } : {});
      expect(res.status, path).toBe(status);
      expect(res.headers.get('cache-control'), path).toBe('no-store');
    }
  });

  test('nginx logged no upstream error during the run', () => {
    expect(nginx.errorLog()).not.toMatch(/\[(error|crit|alert|emerg)\]/);
  });
});
