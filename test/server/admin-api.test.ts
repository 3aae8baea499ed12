import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { jsonOf, type Login, PASSWORD, type ServerHarness, startHarness } from '../support/server.js';

let h: ServerHarness;
let admin: Login;
beforeEach(async () => {
  h = await startHarness();
  admin = await h.login('alice');
});
afterEach(async () => h.close());

interface AdminUser {
  id: string;
  username: string;
  displayName: string;
  roles: string[];
  locked: boolean;
  createdAt: string;
  updatedAt: string;
}

const as = (login: Login | null, path: string, init: { method?: string; json?: unknown } = {}) =>
  h.fetch(path, {
    ...init,
    ...(login ? { cookie: login.cookie, csrf: login.csrf } : {}),
  });

/** Every admin route, with a harmless valid body. */
function adminRoutes(): Array<{ method: string; path: string; json?: unknown }> {
  return [
    { method: 'GET', path: '/api/admin/users' },
    {
      method: 'POST',
      path: '/api/admin/users',
      json: { username: 'intruder', password: PASSWORD, roles: [] },
    },
    { method: 'PATCH', path: `/api/admin/users/${h.ids.alice}`, json: { locked: true } },
    { method: 'PATCH', path: `/api/admin/users/${h.ids.bob}`, json: { roles: ['admin'] } },
    { method: 'POST', path: `/api/admin/users/${h.ids.alice}/revoke-sessions` },
  ];
}

describe('admin API: who may call it', () => {
  test('a signed-in non-admin gets 403 forbidden on every admin route (with a valid CSRF token), and nothing changes', async () => {
    const bob = await h.login('bob');
    for (const route of adminRoutes()) {
      const res = await as(bob, route.path, route);
      expect(res.status, `${route.method} ${route.path}`).toBe(403);
      expect(await jsonOf(res)).toMatchObject({ error: 'forbidden' });
    }
    expect(await h.deps.users.getByUsername('intruder')).toBeNull();
    expect((await h.deps.users.getById(h.ids.alice))?.locked).toBe(false);
    expect((await h.deps.users.getById(h.ids.bob))?.roles).toEqual([]);
    expect((await h.fetch('/api/session', { cookie: admin.cookie })).status).toBe(200);
  });

  test('signed out: 401 unauthenticated on every admin route', async () => {
    for (const route of adminRoutes()) {
      const res = await as(null, route.path, route);
      expect(res.status, `${route.method} ${route.path}`).toBe(401);
      expect(await jsonOf(res)).toMatchObject({ error: 'unauthenticated' });
    }
  });

  test('an admin without the CSRF token is refused (403 csrf) on every unsafe admin route', async () => {
    for (const route of adminRoutes().filter((r) => r.method !== 'GET')) {
      const res = await h.fetch(route.path, {
        method: route.method,
        cookie: admin.cookie,
        json: route.json ?? {},
      });
      expect(res.status, `${route.method} ${route.path}`).toBe(403);
      expect(await jsonOf(res)).toMatchObject({ error: 'csrf' });
    }
  });
});

describe('GET /api/admin/users', () => {
  test('lists users with status, and no password hash anywhere', async () => {
    const res = await as(admin, '/api/admin/users');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toMatch(/argon2|passwordHash|password|hash|salt/i);
    const { users } = JSON.parse(text) as { users: AdminUser[] };
    expect(users.map((u) => u.username).sort()).toEqual(['alice', 'bob']);
    const alice = users.find((u) => u.username === 'alice')!;
    expect(alice).toMatchObject({ id: h.ids.alice, roles: ['admin'], locked: false, displayName: 'alice' });
    expect(Object.keys(alice).sort()).toEqual(
      [
        'createdAt',
        'displayName',
        'id',
        'locked',
        'passkeys',
        'roles',
        'secondFactor',
        'updatedAt',
        'username',
      ].sort(),
    );
  });
});

describe('POST /api/admin/users', () => {
  test('creates a user: 201 {user}, and the user can sign in', async () => {
    const res = await as(admin, '/api/admin/users', {
      method: 'POST',
      json: { username: 'Carol', password: 'velvet harbour 1', roles: ['ops'], displayName: 'Carol C' },
    });
    expect(res.status).toBe(201);
    const { user } = await jsonOf<{ user: Record<string, unknown> }>(res);
    expect(user).toMatchObject({ username: 'carol', displayName: 'Carol C', roles: ['ops'] });
    expect(JSON.stringify(user)).not.toMatch(/argon2|hash|password/i);
    // The admin view, as docs/api.md promises and PATCH answers (it was the plain user object).
    const stored = await h.deps.users.getByUsername('carol');
    expect(user).toEqual({
      id: stored!.id,
      username: 'carol',
      displayName: 'Carol C',
      roles: ['ops'],
      locked: false,
      secondFactor: false,
      passkeys: 0,
      createdAt: new Date(stored!.createdAt).toISOString(),
      updatedAt: new Date(stored!.updatedAt).toISOString(),
    });
    const patched = await as(admin, `/api/admin/users/${stored!.id}`, {
      method: 'PATCH',
      json: { roles: ['ops'] },
    });
    expect(Object.keys((await jsonOf<{ user: object }>(patched)).user).sort()).toEqual(
      Object.keys(user).sort(),
    );
    const login = await h.login('carol', 'velvet harbour 1');
    expect(login.user.roles).toEqual(['ops']);
    expect(h.logs.some((l) => l.event === 'user.created' && l.by === h.ids.alice)).toBe(true);
  });

  test('an HTML form (urlencoded, comma-separated roles, _csrf in the body) creates a user too', async () => {
    const res = await h.fetch('/api/admin/users', {
      cookie: admin.cookie,
      form: { username: 'formuser', password: 'form user password', roles: 'ops, dev', _csrf: admin.csrf },
    });
    expect([201, 303]).toContain(res.status);
    expect((await h.deps.users.getByUsername('formuser'))?.roles).toEqual(['ops', 'dev']);
  });

  test('roles may be omitted (no roles)', async () => {
    const res = await as(admin, '/api/admin/users', {
      method: 'POST',
      json: { username: 'dora', password: 'velvet harbour 2' },
    });
    expect(res.status).toBe(201);
    expect((await jsonOf<{ user: { roles: string[] } }>(res)).user.roles).toEqual([]);
  });

  test('a taken username (after normalisation too) is 409 conflict', async () => {
    for (const username of ['bob', 'BOB', 'ｂｏｂ']) {
      const res = await as(admin, '/api/admin/users', {
        method: 'POST',
        json: { username, password: 'another password', roles: [] },
      });
      expect(res.status, username).toBe(409);
      expect(await jsonOf(res)).toMatchObject({ error: 'conflict' });
    }
  });

  const invalid: Array<[string, unknown]> = [
    ['a bad role name', { username: 'x1', password: PASSWORD, roles: ['Admin!'] }],
    ['roles as a string', { username: 'x2', password: PASSWORD, roles: 'admin' }],
    ['roles with a number', { username: 'x3', password: PASSWORD, roles: [1] }],
    ['a short password', { username: 'x4', password: 'short', roles: [] }],
    ['a password over 1,024 bytes', { username: 'x5', password: 'p'.repeat(1025), roles: [] }],
    ['a numeric username', { username: 12345, password: PASSWORD, roles: [] }],
    ['an object username', { username: { $ne: null }, password: PASSWORD, roles: [] }],
    ['an array password', { username: 'x6', password: [PASSWORD], roles: [] }],
    ['no username', { password: PASSWORD, roles: [] }],
    ['no password', { username: 'x7', roles: [] }],
    ['an empty username', { username: '   ', password: PASSWORD, roles: [] }],
    ['a username with control characters', { username: 'x\n8', password: PASSWORD, roles: [] }],
    ['a 65-character username', { username: 'u'.repeat(65), password: PASSWORD, roles: [] }],
  ];
  for (const [name, json] of invalid) {
    test(`${name}: 400 bad_request and no user is created`, async () => {
      const res = await as(admin, '/api/admin/users', { method: 'POST', json });
      expect(res.status).toBe(400);
      expect(await jsonOf(res)).toMatchObject({ error: 'bad_request' });
      expect(await h.deps.users.count()).toBe(2);
    });
  }
});

describe('PATCH /api/admin/users/:id', () => {
  test("a role change applies on the user's very next request", async () => {
    const bob = await h.login('bob');
    expect((await h.fetch('/auth/verify?role=admin', { cookie: bob.cookie })).status).toBe(403);
    expect((await as(bob, '/api/admin/users')).status).toBe(403);

    const res = await as(admin, `/api/admin/users/${h.ids.bob}`, {
      method: 'PATCH',
      json: { roles: ['admin', 'ops'] },
    });
    expect(res.status).toBe(200);
    expect((await jsonOf<{ user: AdminUser }>(res)).user.roles).toEqual(['admin', 'ops']);

    expect((await h.fetch('/auth/verify?role=admin', { cookie: bob.cookie })).status).toBe(200);
    expect((await as(bob, '/api/admin/users')).status).toBe(200);
    expect(h.logs.some((l) => l.event === 'role.changed' && l.userId === h.ids.bob)).toBe(true);

    await as(admin, `/api/admin/users/${h.ids.bob}`, { method: 'PATCH', json: { roles: [] } });
    expect((await h.fetch('/auth/verify?role=admin', { cookie: bob.cookie })).status).toBe(403);
    expect((await as(bob, '/api/admin/users')).status).toBe(403);
  });

  test('locking a user ends every one of their sessions at once, and sign-in answers invalid_credentials', async () => {
    const one = await h.login('bob');
    const two = await h.login('bob');
    const res = await as(admin, `/api/admin/users/${h.ids.bob}`, { method: 'PATCH', json: { locked: true } });
    expect(res.status).toBe(200);
    expect((await jsonOf<{ user: AdminUser }>(res)).user.locked).toBe(true);
    for (const login of [one, two]) {
      expect((await h.fetch('/api/session', { cookie: login.cookie })).status).toBe(401);
      expect((await h.fetch('/auth/verify', { cookie: login.cookie })).status).toBe(401);
    }
    const attempt = await h.fetch('/api/login', { json: { username: 'bob', password: PASSWORD } });
    expect(attempt.status).toBe(401);
    expect(await jsonOf(attempt)).toMatchObject({ error: 'invalid_credentials' });
    expect(h.logs.some((l) => l.event === 'user.locked' && l.userId === h.ids.bob)).toBe(true);

    const unlock = await as(admin, `/api/admin/users/${h.ids.bob}`, {
      method: 'PATCH',
      json: { locked: false },
    });
    expect(unlock.status).toBe(200);
    // Ended, not suspended: after the unlock the old cookies stay dead, and their records are gone.
    for (const login of [one, two]) {
      expect((await h.fetch('/api/session', { cookie: login.cookie })).status).toBe(401);
      expect((await h.fetch('/auth/verify', { cookie: login.cookie })).status).toBe(401);
    }
    expect(await h.deps.sessions.list(h.ids.bob)).toEqual([]);
    expect(h.logs.find((l) => l.event === 'user.locked')).toMatchObject({ revokedSessions: 2 });
    await h.login('bob');
  });

  test('a locked user with a session that somehow survived is still refused (the lock is read on every request)', async () => {
    const bob = await h.login('bob');
    // Lock directly in the store, without the route's revocation.
    await h.deps.users.update(h.ids.bob, { locked: true }, Date.now());
    expect((await h.fetch('/api/session', { cookie: bob.cookie })).status).toBe(401);
    expect((await h.fetch('/auth/verify', { cookie: bob.cookie })).status).toBe(401);
  });

  test('the last unlocked admin cannot be locked or lose the admin role, not even by themselves: 409', async () => {
    for (const json of [{ locked: true }, { roles: ['ops'] }, { roles: [] }]) {
      const res = await as(admin, `/api/admin/users/${h.ids.alice}`, { method: 'PATCH', json });
      expect(res.status).toBe(409);
      expect(await jsonOf(res)).toMatchObject({
        error: 'conflict',
        message: expect.stringMatching(/no unlocked admin/),
      });
    }
    const alice = await h.deps.users.getById(h.ids.alice);
    expect(alice?.locked).toBe(false);
    expect(alice?.roles).toEqual(['admin']);
    expect((await h.fetch('/api/session', { cookie: admin.cookie })).status).toBe(200);
  });

  test('with another unlocked admin, an admin may step down: the rule is "one admin remains", not "not yourself"', async () => {
    const promote = await as(admin, `/api/admin/users/${h.ids.bob}`, {
      method: 'PATCH',
      json: { roles: ['Admin'] },
    });
    expect(promote.status).toBe(200);
    // Role names are normalised the same way everywhere: `Admin` is `admin`.
    expect((await jsonOf<{ user: { roles: string[] } }>(promote)).user.roles).toEqual(['admin']);
    const res = await as(admin, `/api/admin/users/${h.ids.alice}`, {
      method: 'PATCH',
      json: { roles: ['ops'] },
    });
    expect(res.status).toBe(200);
    expect((await h.deps.users.getById(h.ids.alice))?.roles).toEqual(['ops']);
    // Now bob is the last one.
    const bob = await h.login('bob');
    const lock = await as(bob, `/api/admin/users/${h.ids.bob}`, { method: 'PATCH', json: { locked: true } });
    expect(lock.status).toBe(409);
  });

  test('an unknown user id: 404 not_found', async () => {
    for (const id of ['no-such-user', '00000000-0000-0000-0000-000000000000']) {
      const res = await as(admin, `/api/admin/users/${id}`, { method: 'PATCH', json: { locked: true } });
      expect(res.status).toBe(404);
      expect(await jsonOf(res)).toMatchObject({ error: 'not_found' });
    }
  });

  test('a body naming no known field ({} or only unknown fields): 400, and updatedAt does not move', async () => {
    const before = await h.deps.users.getById(h.ids.bob);
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (const json of [{}, { nickname: 'x' }, { role: ['admin'] }, { Locked: true }]) {
      const res = await as(admin, `/api/admin/users/${h.ids.bob}`, { method: 'PATCH', json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      const body = await jsonOf<{ error: string; message: string }>(res);
      expect(body.error).toBe('bad_request');
      expect(body.message).toMatch(/roles, locked, displayName/);
    }
    const form = await h.fetch(`/api/admin/users/${h.ids.bob}`, {
      method: 'PATCH',
      cookie: admin.cookie,
      form: { _csrf: admin.csrf },
    });
    expect(form.status).toBe(400);
    expect(await h.deps.users.getById(h.ids.bob)).toEqual(before);
  });

  test('displayName "" or with a zero-width space: 400 and nothing changes', async () => {
    for (const displayName of ['', '  ', 'b\u200Bob']) {
      const res = await as(admin, `/api/admin/users/${h.ids.bob}`, {
        method: 'PATCH',
        json: { displayName },
      });
      expect(res.status, JSON.stringify(displayName)).toBe(400);
    }
    expect((await h.deps.users.getById(h.ids.bob))?.displayName).toBe('bob');
  });

  test('bad values: 400 and nothing changes', async () => {
    for (const json of [
      { roles: ['Bad Role'] },
      { roles: 'admin' },
      { roles: [null] },
      { locked: 'yes' },
      { locked: 1 },
      { displayName: 42 },
    ]) {
      const res = await as(admin, `/api/admin/users/${h.ids.bob}`, { method: 'PATCH', json });
      expect(res.status, JSON.stringify(json)).toBe(400);
    }
    const bob = await h.deps.users.getById(h.ids.bob);
    expect(bob?.roles).toEqual([]);
    expect(bob?.locked).toBe(false);
  });
});

describe('POST /api/admin/users/:id/revoke-sessions', () => {
  test("ends every session of that user: {revoked: n}, their cookies die, the admin's lives", async () => {
    const one = await h.login('bob');
    const two = await h.login('bob');
    const res = await as(admin, `/api/admin/users/${h.ids.bob}/revoke-sessions`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await jsonOf(res)).toEqual({ revoked: 2 });
    expect((await h.fetch('/api/session', { cookie: one.cookie })).status).toBe(401);
    expect((await h.fetch('/api/session', { cookie: two.cookie })).status).toBe(401);
    expect((await h.fetch('/api/session', { cookie: admin.cookie })).status).toBe(200);
    // The user can sign in again.
    await h.login('bob');
  });

  test('an unknown user id: 404', async () => {
    const res = await as(admin, '/api/admin/users/no-such-user/revoke-sessions', { method: 'POST' });
    expect(res.status).toBe(404);
  });
});

describe('admin API: nothing secret in answers or logs', () => {
  test('no hash in any admin answer, no password in any log line', async () => {
    const created = await as(admin, '/api/admin/users', {
      method: 'POST',
      json: { username: 'gina', password: 'tidal secret passphrase', roles: [] },
    });
    // The password went through the whole path (a refused one would prove nothing about logs).
    expect(created.status).toBe(201);
    const patched = await as(admin, `/api/admin/users/${h.ids.bob}`, {
      method: 'PATCH',
      json: { roles: ['ops'] },
    });
    const listed = await as(admin, '/api/admin/users');
    for (const res of [created, patched, listed])
      expect(await res.text()).not.toMatch(/\$argon2|passwordHash/);
    expect(h.logText()).not.toContain('tidal secret passphrase');
    expect(h.logText()).not.toMatch(/\$argon2/);
  });
});
