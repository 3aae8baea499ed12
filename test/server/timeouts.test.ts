import { afterEach, describe, expect, test } from 'vitest';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { jsonOf, type ServerHarness, startHarness } from '../support/server.js';

const MIN = 60_000;
let h: ServerHarness;
let clock: ManualClock;
afterEach(async () => h.close());

async function start(env: Record<string, string> = {}) {
  clock = manualClock(Date.now());
  h = await startHarness({ clock, env });
}

const sessionOf = async (cookie: string) =>
  (await jsonOf<{ session: Record<string, string> }>(await h.fetch('/api/session', { cookie }))).session;

describe('the configured timeouts reach the server', () => {
  test('CLOAKROOM_IDLE_TIMEOUT / CLOAKROOM_ABSOLUTE_TIMEOUT set the session deadlines', async () => {
    await start({ CLOAKROOM_IDLE_TIMEOUT: '10m', CLOAKROOM_ABSOLUTE_TIMEOUT: '1h' });
    const { cookie } = await h.login('bob');
    const s = await sessionOf(cookie);
    expect(Date.parse(s.idleExpiresAt!) - Date.parse(s.lastSeenAt!)).toBe(10 * MIN);
    expect(Date.parse(s.absoluteExpiresAt!) - Date.parse(s.createdAt!)).toBe(60 * MIN);
  });

  test('remember me uses CLOAKROOM_REMEMBER_TIMEOUT / CLOAKROOM_REMEMBER_IDLE_TIMEOUT, and Max-Age matches', async () => {
    await start({ CLOAKROOM_REMEMBER_TIMEOUT: '2d', CLOAKROOM_REMEMBER_IDLE_TIMEOUT: '1d' });
    const login = await h.login('bob', undefined, { remember: true });
    expect(login.setCookie[0]).toMatch(/Max-Age=172800\b/);
    const s = await sessionOf(login.cookie);
    expect(Date.parse(s.idleExpiresAt!) - Date.parse(s.lastSeenAt!)).toBe(24 * 60 * MIN);
    expect(Date.parse(s.absoluteExpiresAt!) - Date.parse(s.createdAt!)).toBe(48 * 60 * MIN);
  });
});

describe('idle and absolute timeouts over HTTP', () => {
  test('a session idle past CLOAKROOM_IDLE_TIMEOUT is dead (401 and /auth/verify 401)', async () => {
    await start({ CLOAKROOM_IDLE_TIMEOUT: '10m', CLOAKROOM_ABSOLUTE_TIMEOUT: '1h' });
    const { cookie } = await h.login('bob');
    clock.advance(10 * MIN + 1);
    const res = await h.fetch('/api/session', { cookie });
    expect(res.status).toBe(401);
    expect((await h.fetch('/auth/verify', { cookie })).status).toBe(401);
  });

  test('activity slides the idle deadline, but never past the absolute one', async () => {
    await start({ CLOAKROOM_IDLE_TIMEOUT: '10m', CLOAKROOM_ABSOLUTE_TIMEOUT: '25m' });
    const { cookie } = await h.login('bob');
    for (let i = 0; i < 2; i++) {
      clock.advance(9 * MIN);
      expect((await h.fetch('/auth/verify', { cookie })).status).toBe(200);
    }
    // 18 minutes in: the idle deadline slid to 28 minutes but is capped at the absolute 25.
    const s = await sessionOf(cookie);
    expect(s.idleExpiresAt).toBe(s.absoluteExpiresAt);
    clock.advance(6 * MIN);
    expect((await h.fetch('/auth/verify', { cookie })).status).toBe(200);
    clock.advance(1 * MIN + 1);
    expect((await h.fetch('/api/session', { cookie })).status).toBe(401);
  });

  test('an expired session clears the cookie', async () => {
    await start({ CLOAKROOM_IDLE_TIMEOUT: '10m' });
    const { cookie } = await h.login('bob');
    clock.advance(11 * MIN);
    const res = await h.fetch('/api/session', { cookie });
    expect(res.status).toBe(401);
    expect(res.headers.getSetCookie().join()).toMatch(/^cloakroom=;.*Max-Age=0/i);
  });

  test('renewal writes at most once per CLOAKROOM_TOUCH_INTERVAL (lastSeenAt moves in steps)', async () => {
    await start({ CLOAKROOM_TOUCH_INTERVAL: '5m' });
    const { cookie } = await h.login('bob');
    const created = await sessionOf(cookie);
    clock.advance(4 * MIN);
    expect((await sessionOf(cookie)).lastSeenAt).toBe(created.lastSeenAt);
    clock.advance(1 * MIN);
    expect(Date.parse((await sessionOf(cookie)).lastSeenAt!) - Date.parse(created.lastSeenAt!)).toBe(5 * MIN);
  });
});
