import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { jsonOf, type Login, type ServerHarness, sessionCookieOf, startHarness } from '../support/server.js';

let h: ServerHarness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => h.close());

interface SessionEntry {
  id: string;
  current: boolean;
  createdAt: string;
  lastSeenAt: string;
  ip: string | null;
  userAgent: string | null;
}

async function listOf(login: Pick<Login, 'cookie'>): Promise<SessionEntry[]> {
  const res = await h.fetch('/api/sessions', { cookie: login.cookie });
  expect(res.status).toBe(200);
  return (await jsonOf<{ sessions: SessionEntry[] }>(res)).sessions;
}

async function publicIdOf(login: Login): Promise<string> {
  const res = await h.fetch('/api/session', { cookie: login.cookie });
  return (await jsonOf<{ session: { id: string } }>(res)).session.id;
}

describe('GET /api/sessions', () => {
  test('lists every session of the user with `current` marking this one, metadata only', async () => {
    const one = await h.login('bob');
    const two = await h.login('bob');
    await h.login('alice');
    const res = await h.fetch('/api/sessions', { cookie: one.cookie });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const text = await res.text();
    const { sessions } = JSON.parse(text) as { sessions: SessionEntry[] };
    expect(sessions).toHaveLength(2);
    for (const s of sessions) {
      expect(Object.keys(s).sort()).toEqual([
        'bound',
        'createdAt',
        'current',
        'id',
        'ip',
        'lastSeenAt',
        'userAgent',
      ]);
      expect(s.ip).toBe('127.0.0.1');
      expect(s.userAgent).toBe('node');
    }
    expect(sessions.filter((s) => s.current).map((s) => s.id)).toEqual([await publicIdOf(one)]);
    expect(sessions.map((s) => s.id).sort()).toEqual([await publicIdOf(one), await publicIdOf(two)].sort());
    // Neither token (nor any part of a cookie) is in the answer.
    for (const login of [one, two]) {
      const [token, signature] = login.cookie.split('=')[1]!.split('.');
      expect(text).not.toContain(token!);
      expect(text).not.toContain(signature!);
    }
  });

  test('signed out: 401', async () => {
    expect((await h.fetch('/api/sessions')).status).toBe(401);
  });
});

describe('DELETE /api/sessions/:id', () => {
  test('ends one of my other sessions: 204, that cookie is dead, mine lives', async () => {
    const one = await h.login('bob');
    const two = await h.login('bob');
    const id = await publicIdOf(two);
    const res = await h.fetch(`/api/sessions/${id}`, {
      method: 'DELETE',
      cookie: one.cookie,
      csrf: one.csrf,
    });
    expect(res.status).toBe(204);
    expect((await h.fetch('/api/session', { cookie: two.cookie })).status).toBe(401);
    expect((await h.fetch('/api/session', { cookie: one.cookie })).status).toBe(200);
    expect((await listOf(one)).map((s) => s.id)).toEqual([await publicIdOf(one)]);
  });

  test('ending my current session signs me out and clears the cookie', async () => {
    const one = await h.login('bob');
    const id = await publicIdOf(one);
    const res = await h.fetch(`/api/sessions/${id}`, {
      method: 'DELETE',
      cookie: one.cookie,
      csrf: one.csrf,
    });
    expect(res.status).toBe(204);
    expect(res.headers.getSetCookie().join()).toMatch(/Max-Age=0/i);
    expect((await h.fetch('/api/session', { cookie: one.cookie })).status).toBe(401);
  });

  test("another user's session id: 404, and that session still works (no IDOR)", async () => {
    const bob = await h.login('bob');
    const alice = await h.login('alice');
    const aliceId = await publicIdOf(alice);
    const res = await h.fetch(`/api/sessions/${aliceId}`, {
      method: 'DELETE',
      cookie: bob.cookie,
      csrf: bob.csrf,
    });
    expect(res.status).toBe(404);
    expect(await jsonOf(res)).toMatchObject({ error: 'not_found' });
    expect((await h.fetch('/api/session', { cookie: alice.cookie })).status).toBe(200);
  });

  test('an unknown id: 404', async () => {
    const bob = await h.login('bob');
    for (const id of ['AAAAAAAAAAAAAAAAAAAAAA', 'nope', '%00', 'x'.repeat(300)]) {
      const res = await h.fetch(`/api/sessions/${id}`, {
        method: 'DELETE',
        cookie: bob.cookie,
        csrf: bob.csrf,
      });
      expect(res.status).toBe(404);
    }
  });

  test('the cookie value (or its token half) is not a session id', async () => {
    const bob = await h.login('bob');
    const other = await h.login('bob');
    const token = other.cookie.split('=')[1]!.split('.')[0]!;
    const res = await h.fetch(`/api/sessions/${token}`, {
      method: 'DELETE',
      cookie: bob.cookie,
      csrf: bob.csrf,
    });
    expect(res.status).toBe(404);
    expect((await h.fetch('/api/session', { cookie: other.cookie })).status).toBe(200);
  });

  test('without the CSRF token: 403 and the session survives', async () => {
    const one = await h.login('bob');
    const two = await h.login('bob');
    const res = await h.fetch(`/api/sessions/${await publicIdOf(two)}`, {
      method: 'DELETE',
      cookie: one.cookie,
    });
    expect(res.status).toBe(403);
    expect((await h.fetch('/api/session', { cookie: two.cookie })).status).toBe(200);
  });
});

describe('POST /api/sessions/revoke-others', () => {
  test('ends every other session of mine: {revoked: n}, only the current remains', async () => {
    const one = await h.login('bob');
    const two = await h.login('bob');
    const three = await h.login('bob');
    const alice = await h.login('alice');
    const res = await h.fetch('/api/sessions/revoke-others', {
      method: 'POST',
      cookie: one.cookie,
      csrf: one.csrf,
    });
    expect(res.status).toBe(200);
    expect(await jsonOf(res)).toEqual({ revoked: 2 });
    expect((await h.fetch('/api/session', { cookie: two.cookie })).status).toBe(401);
    expect((await h.fetch('/api/session', { cookie: three.cookie })).status).toBe(401);
    // This session carries on under a new ticket; the old one is dead, its CSRF token still valid.
    const renewed = { cookie: sessionCookieOf(res)!, csrf: one.csrf };
    expect(renewed.cookie).not.toBe(one.cookie);
    expect((await h.fetch('/api/session', { cookie: one.cookie })).status).toBe(401);
    expect((await h.fetch('/api/session', { cookie: renewed.cookie })).status).toBe(200);
    expect((await h.fetch('/api/session', { cookie: alice.cookie })).status).toBe(200);
    const patch = await h.fetch('/api/profile', {
      method: 'PATCH',
      ...renewed,
      json: { displayName: 'Bob B' },
    });
    expect(patch.status).toBe(200);
    const list = await listOf(renewed);
    expect(list).toHaveLength(1);
    expect(list[0]?.current).toBe(true);
  });

  test('with no other session: {revoked: 0}', async () => {
    const one = await h.login('bob');
    const res = await h.fetch('/api/sessions/revoke-others', {
      method: 'POST',
      cookie: one.cookie,
      csrf: one.csrf,
    });
    expect(await jsonOf(res)).toEqual({ revoked: 0 });
  });

  test('without the CSRF token: 403, nothing revoked', async () => {
    const one = await h.login('bob');
    const two = await h.login('bob');
    const res = await h.fetch('/api/sessions/revoke-others', { method: 'POST', cookie: one.cookie });
    expect(res.status).toBe(403);
    expect((await h.fetch('/api/session', { cookie: two.cookie })).status).toBe(200);
  });

  test('signed out: 401', async () => {
    expect((await h.fetch('/api/sessions/revoke-others', { method: 'POST' })).status).toBe(401);
  });
});
