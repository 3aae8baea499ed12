// Smoke test of examples/two-services: its run.sh starts Redis, cloakroom (service A), the
// Python service B and nginx on free ports; the test signs in through nginx and uses service B.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../support/services.js';
import { type RunningProcess, spawnUntil } from './support.js';

const ADMIN_PASSWORD = 'two services password';

let run: RunningProcess & { match: RegExpMatchArray };
let origin = '';
let redisPort = 0;

beforeAll(async () => {
  const [port, cloakroomPort, servicePort] = [await freePort(), await freePort(), await freePort()];
  redisPort = await freePort();
  run = await spawnUntil(
    'bash',
    ['examples/two-services/run.sh'],
    {
      PORT: String(port),
      CLOAKROOM_PORT: String(cloakroomPort),
      SERVICE_B_PORT: String(servicePort),
      REDIS_PORT: String(redisPort),
      RUN_DIR: mkdtempSync(join(tmpdir(), 'cloakroom-two-services-run-')),
      DATA_DIR: mkdtempSync(join(tmpdir(), 'cloakroom-two-services-data-')),
      ADMIN_PASSWORD,
    },
    /ready: (http:\/\/127\.0\.0\.1:\d+)\/b\//,
    60_000,
  );
  origin = run.match[1]!;
}, 70_000);

afterAll(async () => {
  await run?.stop();
});

async function login(): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${origin}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { csrfToken: string };
  return { cookie: res.headers.getSetCookie()[0]!.split(';')[0]!, csrf: body.csrfToken };
}

test('signed out: a browser is sent to the sign-in page, a script gets 401', async () => {
  const page = await fetch(`${origin}/b/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
  expect(page.status).toBe(302);
  const location = new URL(page.headers.get('location')!, origin);
  expect(location.pathname).toBe('/login');
  expect(location.searchParams.get('next')).toBe('/b/');
  const api = await fetch(`${origin}/b/whoami`, { headers: { accept: 'application/json' } });
  expect(api.status).toBe(401);
  // A forged identity header changes nothing.
  const forged = await fetch(`${origin}/b/whoami`, { headers: { 'x-auth-user': 'admin' } });
  expect(forged.status).toBe(401);
});

test('signed in at service A, service B (Python) knows the user; the session lives in Redis', async () => {
  const { cookie, csrf } = await login();
  const whoami = await fetch(`${origin}/b/whoami`, { headers: { cookie, 'x-auth-user': 'eve' } });
  expect(whoami.status).toBe(200);
  expect(await whoami.json()).toMatchObject({ username: 'admin', roles: ['admin'] });
  const page = await fetch(`${origin}/b/`, { headers: { cookie } });
  expect(await page.text()).toContain('Hello, <strong>admin</strong>!');

  // Same-origin form post to service B passes the gateway's CSRF gate; a cross-site one does not.
  const post = (headers: Record<string, string>) =>
    fetch(`${origin}/b/messages`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: 'text=hello+from+a+form',
      redirect: 'manual',
    });
  expect((await post({ origin: 'http://evil.test' })).status).toBe(403);
  expect((await post({ origin })).status).toBe(303);
  expect(await (await fetch(`${origin}/b/`, { headers: { cookie } })).text()).toContain('hello from a form');

  const redis = createClient({ url: `redis://127.0.0.1:${redisPort}` });
  await redis.connect();
  try {
    expect((await redis.keys('*')).length).toBeGreaterThan(0);
  } finally {
    await redis.close();
  }

  const out = await fetch(`${origin}/api/logout`, {
    method: 'POST',
    headers: { cookie, 'x-csrf-token': csrf, origin },
  });
  expect(out.status).toBe(204);
  expect((await fetch(`${origin}/b/whoami`, { headers: { cookie } })).status).toBe(401);
});

test('stopping run.sh stops every service it started', async () => {
  await run.stop();
  await expect(fetch(`${origin}/b/`)).rejects.toThrow();
  const redis = createClient({ url: `redis://127.0.0.1:${redisPort}`, socket: { reconnectStrategy: false } });
  redis.on('error', () => {});
  await expect(redis.connect()).rejects.toThrow();
});
