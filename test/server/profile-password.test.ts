import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { jsonOf, PASSWORD, type ServerHarness, sessionCookieOf, startHarness } from '../support/server.js';

let h: ServerHarness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => h.close());

const NEW_PASSWORD = 'a brand new passphrase';

describe('PATCH /api/profile', () => {
  test('changes displayName: 200 {user}, reflected in /api/session', async () => {
    const { cookie, csrf } = await h.login('bob');
    const res = await h.fetch('/api/profile', {
      method: 'PATCH',
      cookie,
      csrf,
      json: { displayName: 'Bob B.' },
    });
    expect(res.status).toBe(200);
    expect(await jsonOf(res)).toEqual({
      user: { id: h.ids.bob, username: 'bob', displayName: 'Bob B.', roles: [], secondFactor: false },
    });
    const me = await jsonOf<{ user: { displayName: string } }>(await h.fetch('/api/session', { cookie }));
    expect(me.user.displayName).toBe('Bob B.');
  });

  test('also accepts a form post with _csrf in the body', async () => {
    const { cookie, csrf } = await h.login('bob');
    const res = await h.fetch('/api/profile', {
      method: 'PATCH',
      cookie,
      form: { displayName: 'Formed', _csrf: csrf },
    });
    expect(res.status).toBeLessThan(400);
    const me = await jsonOf<{ user: { displayName: string } }>(await h.fetch('/api/session', { cookie }));
    expect(me.user.displayName).toBe('Formed');
  });

  const bad: Array<[string, unknown]> = [
    ['a number', 42],
    ['null', null],
    ['an array', ['x']],
    ['an object', { first: 'x' }],
    ['a boolean', true],
    ['101 characters', 'x'.repeat(101)],
    ['control characters', 'Bob\nAdmin'],
  ];
  for (const [name, displayName] of bad) {
    test(`displayName as ${name}: 400 bad_request, nothing changes`, async () => {
      const { cookie, csrf } = await h.login('bob');
      const res = await h.fetch('/api/profile', { method: 'PATCH', cookie, csrf, json: { displayName } });
      expect(res.status).toBe(400);
      expect(await jsonOf(res)).toMatchObject({ error: 'bad_request' });
      expect((await h.deps.users.getById(h.ids.bob))?.displayName).toBe('bob');
    });
  }

  // Regression: "" and "   " were accepted (an invisible name), and a control character got
  // the message "at most 100 characters".
  const refused: Array<[string, string, RegExp]> = [
    ['empty', '', /empty/],
    ['only spaces', '   ', /empty/],
    ['only tabs and ideographic spaces', '\u3000 \u3000', /empty/],
    ['a bell character', 'Bob\u0007', /control, bidirectional or zero-width/],
    ['a newline', 'Bob\nAdmin', /control, bidirectional or zero-width/],
    ['a right-to-left override', 'Bob\u202Enimda', /control, bidirectional or zero-width/],
    ['a bidi isolate', '\u2066Bob\u2069', /control, bidirectional or zero-width/],
    ['a zero-width space', 'Bo\u200Bb', /control, bidirectional or zero-width/],
    ['a byte-order mark', '\uFEFFBob', /control, bidirectional or zero-width/],
    ['only a zero-width space', '\u200B', /control, bidirectional or zero-width/],
    ['a C1 control', 'Bob\u0085', /control, bidirectional or zero-width/],
  ];
  for (const [name, displayName, message] of refused) {
    test(`displayName with ${name}: 400 with a message that says why`, async () => {
      const { cookie, csrf } = await h.login('bob');
      const res = await h.fetch('/api/profile', { method: 'PATCH', cookie, csrf, json: { displayName } });
      expect(res.status).toBe(400);
      const body = await jsonOf<{ error: string; message: string }>(res);
      expect(body.error).toBe('bad_request');
      expect(body.message).toMatch(message);
      expect(body.message).not.toMatch(/100 characters/);
      expect((await h.deps.users.getById(h.ids.bob))?.displayName).toBe('bob');
    });
  }

  test('an empty displayName in a form post is refused too', async () => {
    const { cookie, csrf } = await h.login('bob');
    const res = await h.fetch('/api/profile', {
      method: 'PATCH',
      cookie,
      form: { displayName: ' ', _csrf: csrf },
    });
    expect(res.status).toBe(400);
    expect((await h.deps.users.getById(h.ids.bob))?.displayName).toBe('bob');
  });

  test('names that need joiners are kept: ZWNJ (Persian) and ZWJ (emoji sequences), trimmed', async () => {
    const { cookie, csrf } = await h.login('bob');
    for (const displayName of ['می\u200Cخواهم', 'Bob \u{1F469}\u200D\u{1F4BB}']) {
      const res = await h.fetch('/api/profile', {
        method: 'PATCH',
        cookie,
        csrf,
        json: { displayName: `  ${displayName} ` },
      });
      expect(res.status, displayName).toBe(200);
      expect((await jsonOf<{ user: { displayName: string } }>(res)).user.displayName).toBe(displayName);
    }
  });

  test('a missing displayName: 400', async () => {
    const { cookie, csrf } = await h.login('bob');
    const res = await h.fetch('/api/profile', { method: 'PATCH', cookie, csrf, json: {} });
    expect(res.status).toBe(400);
  });

  test('without the CSRF token: 403 csrf, nothing changes', async () => {
    const { cookie } = await h.login('bob');
    const res = await h.fetch('/api/profile', { method: 'PATCH', cookie, json: { displayName: 'Hacked' } });
    expect(res.status).toBe(403);
    expect(await jsonOf(res)).toMatchObject({ error: 'csrf' });
    expect((await h.deps.users.getById(h.ids.bob))?.displayName).toBe('bob');
  });

  test('signed out: 401', async () => {
    const res = await h.fetch('/api/profile', { method: 'PATCH', json: { displayName: 'x' } });
    expect(res.status).toBe(401);
  });
});

describe('POST /api/password', () => {
  const change = (cookie: string, csrf: string, body: unknown) =>
    h.fetch('/api/password', { cookie, csrf, json: body });

  test('an HTML form (urlencoded, _csrf in the body) changes the password too', async () => {
    const { cookie, csrf } = await h.login('bob');
    const res = await h.fetch('/api/password', {
      cookie,
      form: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, _csrf: csrf },
    });
    expect([204, 303]).toContain(res.status);
    expect(sessionCookieOf(res)).not.toBeNull();
    await h.login('bob', NEW_PASSWORD);
  });

  test('a wrong current password: 401 invalid_credentials, password unchanged', async () => {
    const { cookie, csrf } = await h.login('bob');
    const res = await change(cookie, csrf, { currentPassword: 'not my password', newPassword: NEW_PASSWORD });
    expect(res.status).toBe(401);
    expect(await jsonOf(res)).toMatchObject({ error: 'invalid_credentials' });
    // The session that asked is still signed in.
    expect((await h.fetch('/api/session', { cookie })).status).toBe(200);
    await h.login('bob', PASSWORD);
  });

  test('a missing current password: 400', async () => {
    const { cookie, csrf } = await h.login('bob');
    expect((await change(cookie, csrf, { newPassword: NEW_PASSWORD })).status).toBe(400);
  });

  test('a new password that is too short: 400, password unchanged', async () => {
    const { cookie, csrf } = await h.login('bob');
    const res = await change(cookie, csrf, { currentPassword: PASSWORD, newPassword: 'short' });
    expect(res.status).toBe(400);
    expect(await jsonOf(res)).toMatchObject({ error: 'bad_request' });
    await h.login('bob', PASSWORD);
  });

  test('a new password over 1,024 bytes: 400', async () => {
    const { cookie, csrf } = await h.login('bob');
    const res = await change(cookie, csrf, { currentPassword: PASSWORD, newPassword: 'x'.repeat(1025) });
    expect(res.status).toBe(400);
  });

  test('non-string passwords: 400', async () => {
    const { cookie, csrf } = await h.login('bob');
    for (const body of [
      { currentPassword: [PASSWORD], newPassword: NEW_PASSWORD },
      { currentPassword: PASSWORD, newPassword: { $ne: null } },
      { currentPassword: PASSWORD, newPassword: 12345678 },
    ]) {
      expect((await change(cookie, csrf, body)).status).toBe(400);
    }
  });

  test('without the CSRF token: 403 and nothing changes', async () => {
    const { cookie } = await h.login('bob');
    const res = await h.fetch('/api/password', {
      cookie,
      json: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
    });
    expect(res.status).toBe(403);
    await h.login('bob', PASSWORD);
  });

  test('success: 204 with a rotated cookie; the old cookie and every other session die; only the new password works', async () => {
    const first = await h.login('bob');
    const second = await h.login('bob');
    const res = await change(first.cookie, first.csrf, {
      currentPassword: PASSWORD,
      newPassword: NEW_PASSWORD,
    });
    expect(res.status).toBe(204);
    const rotated = sessionCookieOf(res);
    expect(rotated).not.toBeNull();
    expect(rotated).not.toBe(first.cookie);
    expect(res.headers.get('cache-control')).toBe('no-store');

    expect((await h.fetch('/api/session', { cookie: first.cookie })).status).toBe(401);
    expect((await h.fetch('/api/session', { cookie: second.cookie })).status).toBe(401);
    const me = await h.fetch('/api/session', { cookie: rotated! });
    expect(me.status).toBe(200);
    expect((await jsonOf<{ user: { id: string } }>(me)).user.id).toBe(h.ids.bob);

    const old = await h.fetch('/api/login', { json: { username: 'bob', password: PASSWORD } });
    expect(old.status).toBe(401);
    await h.login('bob', NEW_PASSWORD);
    expect(h.logs.some((l) => l.event === 'password.changed' && l.userId === h.ids.bob)).toBe(true);
    expect(h.logText()).not.toContain(NEW_PASSWORD);
  });

  test('the rotated session keeps the original absolute deadline (rotation never extends a sign-in)', async () => {
    const { cookie, csrf } = await h.login('bob');
    const before = await jsonOf<{ session: { createdAt: string; absoluteExpiresAt: string } }>(
      await h.fetch('/api/session', { cookie }),
    );
    const res = await change(cookie, csrf, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    const after = await jsonOf<{ session: { createdAt: string; absoluteExpiresAt: string } }>(
      await h.fetch('/api/session', { cookie: sessionCookieOf(res)! }),
    );
    expect(after.session.absoluteExpiresAt).toBe(before.session.absoluteExpiresAt);
    expect(after.session.createdAt).toBe(before.session.createdAt);
  });

  test('the old CSRF token dies with the old session; the rotated session needs its own', async () => {
    const { cookie, csrf } = await h.login('bob');
    const res = await change(cookie, csrf, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    const rotated = sessionCookieOf(res)!;
    const stale = await h.fetch('/api/profile', {
      method: 'PATCH',
      cookie: rotated,
      csrf,
      json: { displayName: 'x' },
    });
    expect(stale.status).toBe(403);
    const { csrfToken } = await jsonOf<{ csrfToken: string }>(
      await h.fetch('/api/session', { cookie: rotated }),
    );
    const fresh = await h.fetch('/api/profile', {
      method: 'PATCH',
      cookie: rotated,
      csrf: csrfToken,
      json: { displayName: 'x' },
    });
    expect(fresh.status).toBe(200);
  });

  test('long passwords are kept whole: a 100-character one works, its first 72 bytes do not (no bcrypt truncation)', async () => {
    const long = `${'0123456789'.repeat(10)}`;
    const { cookie, csrf } = await h.login('bob');
    const res = await change(cookie, csrf, { currentPassword: PASSWORD, newPassword: long });
    expect(res.status).toBe(204);
    const prefix = await h.fetch('/api/login', { json: { username: 'bob', password: long.slice(0, 72) } });
    expect(prefix.status).toBe(401);
    await h.login('bob', long);
  });

  test('wrong current passwords count towards the lockout: the sixth try is 429', async () => {
    const { cookie, csrf } = await h.login('bob');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await change(cookie, csrf, {
        currentPassword: `wrong ${i} password`,
        newPassword: NEW_PASSWORD,
      });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses[5]).toBe(429);
  });

  test('password changes hold a per-IP place only while checking: right current passwords never use up CLOAKROOM_THROTTLE_IP, wrong ones do', async () => {
    const own = await startHarness({ env: { CLOAKROOM_THROTTLE_IP: '2/15m' } });
    try {
      let { cookie, csrf } = await own.login('bob');
      const passwords = [PASSWORD, NEW_PASSWORD];
      for (let i = 0; i < 4; i++) {
        const res = await own.fetch('/api/password', {
          cookie,
          csrf,
          json: { currentPassword: passwords[i % 2], newPassword: passwords[(i + 1) % 2] },
        });
        expect(res.status).toBe(204);
        cookie = sessionCookieOf(res)!;
        csrf = (await jsonOf<{ csrfToken: string }>(await own.fetch('/api/session', { cookie }))).csrfToken;
      }
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await own.fetch('/api/password', {
          cookie,
          csrf,
          json: { currentPassword: `wrong ${i} password`, newPassword: NEW_PASSWORD },
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 429]);
    } finally {
      await own.close();
    }
  });
});
