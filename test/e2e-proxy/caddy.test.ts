// Forward auth through a real Caddy (`forward_auth`), with the Caddyfile printed in
// docs/forward-auth.md. Same topology as the nginx test: cloakroom behind everything else, an
// echo service at /app/ (any user) and /admin-app/ (role admin). docs/security.md rows 70, 71, 75.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { apiLogin, type ServerProcess, startServerProcess } from '../support/server-process.js';
import { freePort } from '../support/services.js';
import { documentedBlock, replaceOnce } from './docs-config.js';
import { type EchoServer, startEchoServer } from './nginx.js';

const ADMIN_PASSWORD = 'caddy gateway secret 11';
const BOB_PASSWORD = 'caddy lantern phrase 2222';
const CADDY = '/usr/bin/caddy';

let echo: EchoServer;
let server: ServerProcess;
let caddy: ChildProcess;
let caddyLog = '';
let origin = '';
let bobId = '';

function call(
  path: string,
  init: { method?: string; cookie?: string; headers?: Record<string, string> } = {},
) {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set('cookie', init.cookie);
  const method = init.method ?? 'GET';
  return fetch(`${origin}${path}`, {
    method,
    headers,
    redirect: 'manual',
    ...(method === 'GET' || method === 'HEAD' ? {} : { body: 'a=1' }),
  });
}

async function reached(action: () => Promise<unknown>): Promise<number> {
  const before = echo.received.length;
  await action();
  return echo.received.length - before;
}

beforeAll(async () => {
  try {
    accessSync(CADDY, constants.X_OK);
  } catch {
    throw new Error(
      `Caddy is not installed at ${CADDY}, and this test needs a real one: run \`apt-get install -y caddy\` ` +
        '(.ci/run does this when it is missing).',
    );
  }
  echo = await startEchoServer();
  server = await startServerProcess({
    CLOAKROOM_ADMIN_USER: 'admin',
    CLOAKROOM_ADMIN_PASSWORD: ADMIN_PASSWORD,
    CLOAKROOM_TRUST_PROXY: 'true',
  });
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  let site = documentedBlock('test/e2e-proxy/caddy.test.ts', 'caddyfile');
  site = replaceOnce(site, 'app.example.com {', `${origin} {`);
  site = site.replaceAll('127.0.0.1:3000', `127.0.0.1:${new URL(server.url).port}`);
  site = replaceOnce(site, '127.0.0.1:8080', `127.0.0.1:${echo.port}`);
  site = replaceOnce(site, '127.0.0.1:8081', `127.0.0.1:${echo.port}`);
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-caddy-'));
  writeFileSync(
    join(dir, 'Caddyfile'),
    `{\n\tadmin off\n\tauto_https off\n\tstorage file_system ${dir}/storage\n}\n\n${site}`,
  );
  caddy = spawn(CADDY, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
    env: { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  caddy.stdout?.on('data', (chunk: Buffer) => {
    caddyLog += chunk.toString();
  });
  caddy.stderr?.on('data', (chunk: Buffer) => {
    caddyLog += chunk.toString();
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (caddy.exitCode !== null) throw new Error(`caddy exited at start:\n${caddyLog}`);
    try {
      await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(1_000) });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`caddy did not answer on ${origin}:\n${caddyLog}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const admin = await apiLogin(origin, 'admin', ADMIN_PASSWORD);
  const created = await fetch(`${origin}/api/admin/users`, {
    method: 'POST',
    headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, origin, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bob', password: BOB_PASSWORD, roles: [] }),
  });
  expect(created.status, await created.clone().text()).toBe(201);
  bobId = ((await created.json()) as { user: { id: string } }).user.id;
}, 60_000);

afterAll(async () => {
  if (caddy?.pid !== undefined && caddy.exitCode === null && caddy.signalCode === null) {
    const exited = new Promise((resolve) => caddy.once('exit', resolve));
    process.kill(caddy.pid, 'SIGTERM');
    await exited;
  }
  await server?.stop();
  await echo?.close();
});

describe('Caddy forward_auth → /auth/verify', () => {
  test('without a session the services are never reached', async () => {
    const count = await reached(async () => {
      for (const [method, path] of [
        ['GET', '/app/'],
        ['POST', '/app/x'],
        ['DELETE', '/app/x'],
        ['GET', '/admin-app/'],
      ] as const) {
        const res = await call(path, {
          method,
          headers: { 'X-Auth-User': 'admin', 'X-Auth-Roles': 'admin' },
        });
        expect(res.status, `${method} ${path}`).toBe(401);
      }
    });
    expect(count).toBe(0);
  });

  test('signed in, the service receives the identity headers', async () => {
    const admin = await apiLogin(origin, 'admin', ADMIN_PASSWORD);
    expect((await call('/app/page?x=1', { cookie: admin.cookie })).status).toBe(200);
    const seen = echo.received.at(-1)!;
    expect(seen.url).toBe('/app/page?x=1');
    expect(seen.headers['x-auth-user']).toBe('admin');
    expect(seen.headers['x-auth-roles']).toBe('admin');
    expect(seen.headers['x-auth-user-id']).toMatch(/\S/);
    expect(seen.headers['x-auth-methods']).toBe('pwd');
  });

  test('client-sent X-Auth-* (case and underscore variants) never reach the service', async () => {
    const bob = await apiLogin(origin, 'bob', BOB_PASSWORD);
    for (const name of ['X-Auth-User', 'x-auth-user', 'X-Auth_User', 'X_AUTH_USER']) {
      const res = await call('/app/', {
        cookie: bob.cookie,
        headers: {
          [name]: 'admin',
          'X-Auth-Roles': 'admin',
          'X-Auth_Roles': 'admin',
          'X-Auth-User-Id': 'x',
          'X-Auth-Methods': 'pwd,otp',
        },
      });
      expect(res.status, name).toBe(200);
      const seen = echo.received.at(-1)!.headers;
      expect(seen['x-auth-user'], name).toBe('bob');
      expect(seen['x-auth-user-id'], name).toBe(bobId);
      expect(seen['x-auth-roles'] ?? '', name).toBe('');
      expect(seen['x-auth-methods'], name).toBe('pwd');
      expect(
        Object.keys(seen).filter(
          (h) =>
            /^x[-_]auth/i.test(h) &&
            !['x-auth-user', 'x-auth-user-id', 'x-auth-roles', 'x-auth-methods'].includes(h),
        ),
        name,
      ).toEqual([]);
    }
  });

  test('the admin-only service refuses bob (403) and admits the admin', async () => {
    const bob = await apiLogin(origin, 'bob', BOB_PASSWORD);
    const refused = await reached(async () => {
      expect(
        (await call('/admin-app/', { cookie: bob.cookie, headers: { 'X-Auth-Roles': 'admin' } })).status,
      ).toBe(403);
    });
    expect(refused).toBe(0);
    const admin = await apiLogin(origin, 'admin', ADMIN_PASSWORD);
    expect((await call('/admin-app/', { cookie: admin.cookie })).status).toBe(200);
  });

  test('cross-site unsafe requests are refused at the gateway; same-origin ones pass', async () => {
    const bob = await apiLogin(origin, 'bob', BOB_PASSWORD);
    const count = await reached(async () => {
      for (const headers of [
        { origin: 'http://evil.test' },
        { 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'same-site' },
        { origin: 'http://evil.test', 'x-forwarded-host': 'evil.test', 'x-forwarded-method': 'GET' },
      ]) {
        const res = await call('/app/transfer', { method: 'POST', cookie: bob.cookie, headers });
        expect(res.status, JSON.stringify(headers)).toBe(403);
      }
    });
    expect(count).toBe(0);
    const same = await call('/app/transfer', { method: 'POST', cookie: bob.cookie, headers: { origin } });
    expect(same.status).toBe(200);
    expect(echo.received.at(-1)?.method).toBe('POST');
  });

  test('sign-out closes the services on the next request', async () => {
    const bob = await apiLogin(origin, 'bob', BOB_PASSWORD);
    expect((await call('/app/', { cookie: bob.cookie })).status).toBe(200);
    const out = await fetch(`${origin}/api/logout`, {
      method: 'POST',
      headers: { cookie: bob.cookie, 'x-csrf-token': bob.csrf, origin },
    });
    expect(out.status).toBe(204);
    expect((await call('/app/', { cookie: bob.cookie })).status).toBe(401);
  });
});
