// What Traefik's ForwardAuth middleware sends (X-Forwarded-Method/-Proto/-Host/-Uri/-For plus the
// client's own headers), played directly against the server — no Traefik needed to check the
// contract. The server runs with CLOAKROOM_TRUST_PROXY=true, as behind Traefik with
// `trustForwardHeader: false` (Traefik then overwrites X-Forwarded-*). docs/security.md rows 70, 72, 75.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

const PASSWORD = 'traefik gateway secret 1';
const APP = 'https://app.test';
const TRUSTED = 'https://admin.app.test';

let server: ServerProcess;
let cookie = '';

/** The headers Traefik adds for a request to https://app.test<uri> with `method`. */
function traefik(method: string, uri = '/dashboard'): Record<string, string> {
  return {
    'x-forwarded-method': method,
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'app.test',
    'x-forwarded-uri': uri,
    'x-forwarded-for': '203.0.113.7',
  };
}

function verify(headers: Record<string, string>, withCookie = true, query = ''): Promise<Response> {
  return fetch(`${server.url}/auth/verify${query}`, {
    headers: { ...(withCookie ? { cookie } : {}), ...headers },
  });
}

beforeAll(async () => {
  server = await startServerProcess({
    CLOAKROOM_ADMIN_USER: 'admin',
    CLOAKROOM_ADMIN_PASSWORD: PASSWORD,
    CLOAKROOM_TRUST_PROXY: 'true',
    CLOAKROOM_TRUSTED_ORIGINS: TRUSTED,
  });
  // Sign in as the browser would through Traefik: https, Host app.test.
  const res = await fetch(`${server.url}/api/login`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'app.test',
      origin: APP,
    },
    body: JSON.stringify({ username: 'admin', password: PASSWORD }),
  });
  expect(res.status).toBe(200);
  const pair = res.headers.getSetCookie()[0]?.split(';')[0] ?? '';
  // HTTPS as the proxy reports it: the __Host- cookie.
  expect(pair).toMatch(/^__Host-cloakroom=/);
  cookie = pair;
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('Traefik-style forward auth against the server', () => {
  test('GET: 200 with the identity headers, no-store', async () => {
    const res = await verify(traefik('GET'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-auth-user')).toBe('admin');
    expect(res.headers.get('x-auth-roles')).toBe('admin');
    expect(res.headers.get('x-auth-user-id')).toMatch(/\S/);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  test('X-Forwarded-Method: POST with Sec-Fetch-Site: cross-site → 403 csrf, no identity headers', async () => {
    const res = await verify({ ...traefik('POST'), 'sec-fetch-site': 'cross-site' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe('csrf');
    expect(res.headers.get('x-auth-user')).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  test('unsafe methods from a foreign origin, a sibling site or another scheme → 403', async () => {
    for (const [method, extra] of [
      ['POST', { origin: 'https://evil.test' }],
      ['PUT', { origin: 'http://app.test' }],
      ['DELETE', { 'sec-fetch-site': 'same-site' }],
      ['PATCH', { origin: 'https://app.test:8443' }],
      ['POST', { origin: 'null' }],
    ] as const) {
      const res = await verify({ ...traefik(method), ...extra });
      expect(res.status, `${method} ${JSON.stringify(extra)}`).toBe(403);
    }
  });

  test('same-origin POST (Origin = https://app.test as forwarded) → 200; a trusted origin → 200', async () => {
    const same = await verify({ ...traefik('POST'), origin: APP, 'sec-fetch-site': 'same-origin' });
    expect(same.status).toBe(200);
    expect(same.headers.get('x-auth-user')).toBe('admin');
    const trusted = await verify({ ...traefik('POST'), origin: TRUSTED });
    expect(trusted.status).toBe(200);
  });

  test('a safe forwarded method passes cross-site (navigations), an unsafe one without a session is 401', async () => {
    expect((await verify({ ...traefik('GET'), 'sec-fetch-site': 'cross-site' })).status).toBe(200);
    const anonymous = await verify({ ...traefik('POST'), 'sec-fetch-site': 'cross-site' }, false);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('location')).toBeNull();
  });

  test('X-Forwarded-Method and X-Original-Method disagreeing: any unsafe one runs the gate', async () => {
    const res = await verify({
      ...traefik('GET'),
      'x-original-method': 'POST',
      'sec-fetch-site': 'cross-site',
    });
    expect(res.status).toBe(403);
    const garbled = await verify({ ...traefik('GET'), 'x-original-method': 'PO ST' });
    expect(garbled.status).toBe(400);
  });

  test('the role check works the same with forwarded headers', async () => {
    expect((await verify(traefik('GET'), true, '?role=admin')).status).toBe(200);
    expect((await verify(traefik('GET'), true, '?role=billing')).status).toBe(403);
    expect((await verify(traefik('GET'), false, '?role=admin')).status).toBe(401);
  });
});
