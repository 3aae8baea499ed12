import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  jsonOf,
  type LogLine,
  PASSWORD,
  type ServerHarness,
  sessionCookieOf,
  startHarness,
  TEST_SECRET,
} from '../support/server.js';

let h: ServerHarness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => h.close());

const PUBLIC_ID = /^[A-Za-z0-9_-]{22}$/;

/** The audit lines of one event since `from`. */
const events = (name: string, from = 0): LogLine[] => h.logs.slice(from).filter((l) => l.event === name);

describe('audit events (docs/operations.md)', () => {
  test('every log line is structured JSON with an ISO UTC time, a level and the service name', async () => {
    await h.login('bob');
    expect(h.logs.length).toBeGreaterThan(0);
    for (const line of h.logs) {
      expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(typeof line.level).toBe('string');
      expect(line.service).toBe('cloakroom');
    }
  });

  test('sign-in success and failure, lockout and throttling', async () => {
    const bob = await h.login('bob');
    const me = await jsonOf<{ session: { id: string } }>(
      await h.fetch('/api/session', { cookie: bob.cookie }),
    );
    expect(events('login.success')).toHaveLength(1);
    expect(events('login.success')[0]).toMatchObject({
      userId: h.ids.bob,
      session: me.session.id,
      ip: '127.0.0.1',
      remember: false,
      level: 'info',
    });
    expect(String(events('login.success')[0]?.session)).toMatch(PUBLIC_ID);

    for (let i = 0; i < 5; i++)
      await h.fetch('/api/login', { json: { username: 'alice', password: `wrong ${i} password` } });
    expect(events('login.failure')).toHaveLength(5);
    expect(events('login.failure')[0]).toMatchObject({ username: 'alice', ip: '127.0.0.1' });
    expect(events('lockout')).toHaveLength(1);
    expect(events('lockout')[0]).toMatchObject({ username: 'alice', scope: 'account', level: 'warn' });

    await h.fetch('/api/login', { json: { username: 'alice', password: PASSWORD } });
    expect(events('login.throttled')).toHaveLength(1);
    expect(events('login.throttled')[0]).toMatchObject({
      username: 'alice',
      scope: 'account',
      level: 'warn',
    });
  });

  test('sign-out, CSRF refusal, profile, password change', async () => {
    const bob = await h.login('bob');
    const id = (
      await jsonOf<{ session: { id: string } }>(await h.fetch('/api/session', { cookie: bob.cookie }))
    ).session.id;

    const from = h.logs.length;
    await h.fetch('/api/profile', { method: 'PATCH', cookie: bob.cookie, json: { displayName: 'x' } });
    expect(events('csrf.refused', from)).toHaveLength(1);
    // It names whose session the forged request rode on: user id and public session id.
    expect(events('csrf.refused', from)[0]).toMatchObject({
      reason: 'missing-token',
      level: 'warn',
      userId: bob.user.id,
      session: id,
    });

    await h.fetch('/api/login', {
      json: { username: 'bob', password: PASSWORD },
      headers: { origin: 'http://evil.test' },
    });
    expect(events('csrf.refused', from)).toHaveLength(2);
    expect(events('csrf.refused', from)[1]).toMatchObject({ route: 'login', reason: 'foreign-origin' });

    await h.fetch('/api/profile', {
      method: 'PATCH',
      cookie: bob.cookie,
      csrf: bob.csrf,
      json: { displayName: 'B' },
    });
    expect(events('profile.updated', from)).toEqual([expect.objectContaining({ userId: h.ids.bob })]);

    const other = await h.login('bob');
    const res = await h.fetch('/api/password', {
      cookie: bob.cookie,
      csrf: bob.csrf,
      json: { currentPassword: PASSWORD, newPassword: 'a new pass phrase' },
    });
    expect(res.status).toBe(204);
    expect(events('password.changed', from)).toEqual([
      expect.objectContaining({ userId: h.ids.bob, revokedSessions: 1 }),
    ]);
    expect((await h.fetch('/api/session', { cookie: other.cookie })).status).toBe(401);

    const fresh = await h.login('bob', 'a new pass phrase');
    const freshId = (
      await jsonOf<{ session: { id: string } }>(await h.fetch('/api/session', { cookie: fresh.cookie }))
    ).session.id;
    await h.fetch('/api/logout', { method: 'POST', cookie: fresh.cookie, csrf: fresh.csrf });
    expect(events('logout', from)).toEqual([
      expect.objectContaining({ userId: h.ids.bob, session: freshId }),
    ]);
    expect(freshId).not.toBe(id);
  });

  test('session revocation by the user and by an admin, role change, lock and unlock, user creation, forward-auth denial', async () => {
    const alice = await h.login('alice');
    const bob1 = await h.login('bob');
    const bob2 = await h.login('bob');
    const bob2Id = (
      await jsonOf<{ session: { id: string } }>(await h.fetch('/api/session', { cookie: bob2.cookie }))
    ).session.id;
    const from = h.logs.length;

    await h.fetch(`/api/sessions/${bob2Id}`, { method: 'DELETE', cookie: bob1.cookie, csrf: bob1.csrf });
    expect(events('session.revoked', from)).toEqual([
      expect.objectContaining({ userId: h.ids.bob, session: bob2Id }),
    ]);

    const others = await h.fetch('/api/sessions/revoke-others', {
      method: 'POST',
      cookie: bob1.cookie,
      csrf: bob1.csrf,
    });
    expect(events('sessions.revoked', from)).toHaveLength(1);
    bob1.cookie = sessionCookieOf(others)!;

    const admin = { cookie: alice.cookie, csrf: alice.csrf };
    await h.fetch(`/api/admin/users/${h.ids.bob}`, { method: 'PATCH', ...admin, json: { roles: ['ops'] } });
    expect(events('role.changed', from)).toEqual([
      expect.objectContaining({ userId: h.ids.bob, from: [], to: ['ops'], by: h.ids.alice }),
    ]);

    await h.fetch('/auth/verify?role=admin', { cookie: bob1.cookie });
    expect(events('forward-auth.denied', from)).toEqual([
      expect.objectContaining({ userId: h.ids.bob, role: 'admin' }),
    ]);

    await h.fetch(`/api/admin/users/${h.ids.bob}`, { method: 'PATCH', ...admin, json: { locked: true } });
    expect(events('user.locked', from)).toEqual([
      expect.objectContaining({ userId: h.ids.bob, revokedSessions: 1, by: h.ids.alice }),
    ]);
    await h.fetch(`/api/admin/users/${h.ids.bob}`, { method: 'PATCH', ...admin, json: { locked: false } });
    expect(events('user.unlocked', from)).toEqual([
      expect.objectContaining({ userId: h.ids.bob, by: h.ids.alice }),
    ]);

    await h.fetch(`/api/admin/users/${h.ids.bob}/revoke-sessions`, { method: 'POST', ...admin });
    expect(events('sessions.revoked', from)).toHaveLength(2);
    expect(events('sessions.revoked', from)[1]).toMatchObject({ userId: h.ids.bob, by: h.ids.alice });

    await h.fetch('/api/admin/users', {
      method: 'POST',
      ...admin,
      json: { username: 'carol', password: PASSWORD },
    });
    expect(events('user.created', from)).toEqual([
      expect.objectContaining({ username: 'carol', by: h.ids.alice }),
    ]);
  });

  test('a change that changes nothing writes no event, on the API and on the admin page alike', async () => {
    // Regression: the admin page wrote role.changed and user.locked when nothing had changed.
    const alice = await h.login('alice');
    const admin = { cookie: alice.cookie, csrf: alice.csrf };
    const page = (action: string, form: Record<string, string> = {}) =>
      h.fetch(`/admin/users/${h.ids.bob}/${action}`, {
        cookie: alice.cookie,
        form: { ...form, _csrf: alice.csrf },
      });
    await h.fetch(`/api/admin/users/${h.ids.bob}`, { method: 'PATCH', ...admin, json: { roles: ['ops'] } });
    await h.fetch(`/api/admin/users/${h.ids.bob}`, { method: 'PATCH', ...admin, json: { locked: true } });
    const from = h.logs.length;
    for (const res of [
      await h.fetch(`/api/admin/users/${h.ids.bob}`, { method: 'PATCH', ...admin, json: { roles: ['OPS'] } }),
      await h.fetch(`/api/admin/users/${h.ids.bob}`, { method: 'PATCH', ...admin, json: { locked: true } }),
      await page('roles', { roles: 'ops' }),
      await page('lock'),
    ]) {
      expect(res.status).toBeLessThan(400);
    }
    expect(events('role.changed', from)).toEqual([]);
    expect(events('user.locked', from)).toEqual([]);
    // A real change from the page is audited once, with who did it.
    await page('unlock');
    await page('unlock');
    expect(events('user.unlocked', from)).toEqual([
      expect.objectContaining({ userId: h.ids.bob, by: h.ids.alice }),
    ]);
  });

  test('no audit line carries a token, CSRF token, password, secret or full cookie', async () => {
    const alice = await h.login('alice');
    const bob = await h.login('bob');
    await h.fetch('/api/logout', { method: 'POST', cookie: bob.cookie });
    await h.fetch('/api/password', {
      cookie: alice.cookie,
      csrf: alice.csrf,
      json: { currentPassword: 'not the password', newPassword: 'whatever new one' },
    });
    await h.fetch('/auth/verify', { cookie: `${alice.cookie}x` });
    const text = h.logText();
    for (const login of [alice, bob]) {
      const [token, signature] = login.cookie.split('=')[1]!.split('.');
      expect(text).not.toContain(token!);
      expect(text).not.toContain(signature!);
      expect(text).not.toContain(login.csrf);
    }
    for (const secret of [PASSWORD, 'not the password', 'whatever new one', TEST_SECRET]) {
      expect(text).not.toContain(secret);
    }
  });
});
