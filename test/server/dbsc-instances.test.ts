import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { DbscBrowser } from '../support/dbsc-client.js';
import { httpClient } from '../support/passkeys-api.js';
import { PASSWORD } from '../support/server.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { type PostgresDatabase, REDIS_URL, requirePostgres, requireRedis } from '../support/services.js';

// Two `cloakroom serve` processes with CLOAKROOM_DBSC=on on one Redis (sessions: the bindings and
// their challenges) and one PostgreSQL (users), as behind a load balancer: a browser registers on
// one instance and refreshes on the other, and a challenge spent on one is refused by the other.
vi.setConfig({ testTimeout: 60_000 });

const redis = await requireRedis();
let db: PostgresDatabase;
let one: ServerProcess;
let two: ServerProcess;

beforeAll(async () => {
  db = await requirePostgres();
  const env = {
    REDIS_URL,
    DATABASE_URL: db.url,
    CLOAKROOM_DBSC: 'on',
    CLOAKROOM_ADMIN_USER: 'root',
    CLOAKROOM_ADMIN_PASSWORD: PASSWORD,
  };
  one = await startServerProcess(env);
  two = await startServerProcess(env);
}, 60_000);

afterAll(async () => {
  await one?.stop();
  await two?.stop();
  await db?.drop();
  redis.destroy();
});

/** A DBSC browser whose requests go to whichever instance `to` names at the time. */
function browserOn(to: { instance: ServerProcess }): DbscBrowser {
  return new DbscBrowser((path, init) => httpClient(to.instance.url).fetch(path, init));
}

describe('one binding, two instances', () => {
  test('sign in and register on one, refresh on the other, use either', async () => {
    const route = { instance: one };
    const browser = browserOn(route);
    const res = await httpClient(one.url).fetch('/api/login', {
      json: { username: 'root', password: PASSWORD },
    });
    expect(res.status).toBe(200);
    browser.jar.absorb(res);
    route.instance = two;
    expect((await browser.register(res)).status).toBe(200);
    for (const instance of [one, two]) {
      route.instance = instance;
      expect((await browser.request('/api/session')).status).toBe(200);
    }
    // (A request without a bound cookie is refused once the registration is ten seconds old:
    // test/server/dbsc.test.ts steps a clock past that; here the clock is real.)
    browser.expireBoundCookie();
    route.instance = one;
    expect((await browser.refresh()).status).toBe(200);
    route.instance = two;
    expect((await browser.request('/api/session')).status).toBe(200);
    // The challenge the refresh on one handed out is good on two.
    browser.expireBoundCookie();
    const refreshed = await browser.refresh();
    expect(refreshed.status).toBe(200);
    route.instance = one;
    expect((await browser.request('/api/session')).status).toBe(200);
  });

  test('a refresh proof spent on one instance is refused on the other', async () => {
    const route = { instance: one };
    const browser = browserOn(route);
    const res = await httpClient(one.url).fetch('/api/login', {
      json: { username: 'root', password: PASSWORD },
    });
    browser.jar.absorb(res);
    expect((await browser.register(res)).status).toBe(200);
    const proof = browser.device.refreshProof(browser.cachedChallenge!);
    const send = (instance: ServerProcess) =>
      httpClient(instance.url).fetch('/auth/dbsc/refresh', {
        method: 'POST',
        jar: browser.jar,
        headers: {
          'sec-secure-session-id': `"${browser.sessionId}"`,
          'secure-session-response': `"${proof}"`,
        },
      });
    const [a, b] = await Promise.all([send(one), send(two)]);
    expect([a.status, b.status].sort()).toEqual([200, 403]);
    expect((await send(two)).status).toBe(403);
    expect((await send(one)).status).toBe(403);
  });
});
