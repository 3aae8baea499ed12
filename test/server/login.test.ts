import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { jsonOf, PASSWORD, type ServerHarness, sessionCookieOf, startHarness } from '../support/server.js';

let h: ServerHarness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => h.close());

/** Headers of a response without the ones that legitimately differ between two answers. */
function stableHeaders(response: Response): Array<[string, string]> {
  return [...response.headers].filter(([name]) => name !== 'date');
}

describe('POST /api/login (JSON)', () => {
  test('signs in: 200 {user, csrfToken} and a browser-session cookie (HttpOnly, SameSite=Lax, Path=/, no Max-Age)', async () => {
    const res = await h.fetch('/api/login', { json: { username: 'alice', password: PASSWORD } });
    expect(res.status).toBe(200);
    const body = await jsonOf<{ user: Record<string, unknown>; csrfToken: string }>(res);
    expect(body.user).toEqual({
      id: h.ids.alice,
      username: 'alice',
      displayName: 'alice',
      roles: ['admin'],
      secondFactor: false,
    });
    expect(typeof body.csrfToken).toBe('string');
    expect(body.csrfToken.length).toBeGreaterThan(20);
    const cookies = res.headers.getSetCookie();
    expect(cookies).toHaveLength(1);
    const line = cookies[0]!;
    expect(line).toMatch(/^cloakroom=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43};/);
    expect(line).toMatch(/;\s*HttpOnly/i);
    expect(line).toMatch(/;\s*SameSite=Lax/i);
    expect(line).toMatch(/;\s*Path=\//i);
    expect(line).not.toMatch(/Max-Age|Expires/i);
    expect(line).not.toMatch(/Domain=/i);
    expect(res.headers.get('cache-control')).toBe('no-store');
    // The token travels only in Set-Cookie, never in the body.
    const value = sessionCookieOf(res)!.split('=')[1]!;
    expect(JSON.stringify(body)).not.toContain(value.split('.')[0]!);
  });

  test('the cookie it sets authenticates /api/session', async () => {
    const { cookie } = await h.login('alice');
    const res = await h.fetch('/api/session', { cookie });
    expect(res.status).toBe(200);
    expect((await jsonOf<{ user: { username: string } }>(res)).user.username).toBe('alice');
  });

  test('remember: true gives a persistent cookie with Max-Age no longer than the remember lifetime', async () => {
    const res = await h.fetch('/api/login', {
      json: { username: 'bob', password: PASSWORD, remember: true },
    });
    expect(res.status).toBe(200);
    const line = res.headers.getSetCookie()[0]!;
    const maxAge = Number(/Max-Age=(\d+)/i.exec(line)?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(30 * 24 * 3600);
    expect(maxAge).toBeGreaterThan(29 * 24 * 3600);
  });

  test('wrong password, unknown user and locked account get byte-identical 401 answers', async () => {
    await h.createUser('carol');
    const dave = await h.createUser('dave');
    await h.deps.users.update(dave.id, { locked: true }, Date.now());

    const wrong = await h.fetch('/api/login', { json: { username: 'carol', password: 'not the password' } });
    const unknown = await h.fetch('/api/login', {
      json: { username: 'nobody', password: 'not the password' },
    });
    const locked = await h.fetch('/api/login', { json: { username: 'dave', password: PASSWORD } });

    const bodies = await Promise.all([wrong, unknown, locked].map((r) => r.text()));
    for (const r of [wrong, unknown, locked]) expect(r.status).toBe(401);
    expect(JSON.parse(bodies[0]!)).toMatchObject({ error: 'invalid_credentials' });
    expect(typeof JSON.parse(bodies[0]!).message).toBe('string');
    expect(bodies[1]).toBe(bodies[0]);
    expect(bodies[2]).toBe(bodies[0]);
    expect(stableHeaders(unknown)).toEqual(stableHeaders(wrong));
    expect(stableHeaders(locked)).toEqual(stableHeaders(wrong));
    expect(wrong.headers.getSetCookie()).toEqual([]);
  });

  test('usernames are compared after NFKC and lower-casing: ＢＯＢ and " Bob " sign in as bob', async () => {
    for (const username of ['ＢＯＢ', 'BOB', ' Bob ']) {
      const login = await h.login(username);
      expect(login.user.id).toBe(h.ids.bob);
    }
  });

  test('remember must be a boolean in JSON: "yes" or 1 → 400, no cookie', async () => {
    for (const remember of ['yes', 1, 'true']) {
      const res = await h.fetch('/api/login', { json: { username: 'bob', password: PASSWORD, remember } });
      expect(res.status).toBe(400);
      expect(res.headers.getSetCookie()).toEqual([]);
    }
  });

  test('a form sign-in with remember=on gives a persistent cookie', async () => {
    const { cookie, token } = h.loginFormToken();
    const res = await h.fetch('/api/login', {
      cookie,
      form: { username: 'bob', password: PASSWORD, remember: 'on', _csrf: token },
    });
    expect([200, 303]).toContain(res.status);
    const line = res.headers.getSetCookie().find((l) => l.startsWith('cloakroom='));
    expect(line).toMatch(/Max-Age=\d+/);
  });

  test('a JSON client that sends no Origin at all (curl, a server) can sign in', async () => {
    const res = await h.fetch('/api/login', { json: { username: 'bob', password: PASSWORD } });
    expect(res.status).toBe(200);
  });

  test('a same-origin browser sign-in (Origin = own origin, Sec-Fetch-Site: same-origin) is accepted', async () => {
    const res = await h.fetch('/api/login', {
      json: { username: 'bob', password: PASSWORD },
      headers: { origin: h.origin, 'sec-fetch-site': 'same-origin' },
    });
    expect(res.status).toBe(200);
  });
});

describe('POST /api/login: login CSRF', () => {
  const attacks: Array<[string, Record<string, string>]> = [
    ['a foreign Origin', { origin: 'http://evil.test' }],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site (a sibling subdomain)', { 'sec-fetch-site': 'same-site' }],
    ['Origin: null', { origin: 'null' }],
    ['a same-host origin on another port', { origin: 'http://127.0.0.1:1' }],
  ];
  for (const [name, headers] of attacks) {
    test(`a sign-in with ${name} is refused with 403 csrf and sets no cookie, even with the right password`, async () => {
      const res = await h.fetch('/api/login', { json: { username: 'alice', password: PASSWORD }, headers });
      expect(res.status).toBe(403);
      expect(await jsonOf(res)).toMatchObject({ error: 'csrf' });
      expect(res.headers.getSetCookie()).toEqual([]);
    });
  }

  test('a cross-site form-encoded sign-in is refused with 403 and no cookie', async () => {
    const res = await h.fetch('/api/login', {
      form: { username: 'alice', password: PASSWORD },
      headers: { origin: 'http://evil.test', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' },
    });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  test('a form-encoded sign-in without the login-form token (_csrf) is refused with 403 csrf', async () => {
    const res = await h.fetch('/api/login', { form: { username: 'alice', password: PASSWORD } });
    expect(res.status).toBe(403);
    expect(await jsonOf(res)).toMatchObject({ error: 'csrf' });
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  test('a form-encoded sign-in with a token but without its nonce cookie is refused', async () => {
    const { token } = h.loginFormToken();
    const res = await h.fetch('/api/login', {
      form: { username: 'alice', password: PASSWORD, _csrf: token },
    });
    expect(res.status).toBe(403);
  });

  test('a form-encoded sign-in whose token belongs to another nonce is refused', async () => {
    const first = h.loginFormToken();
    const second = h.loginFormToken();
    const res = await h.fetch('/api/login', {
      cookie: first.cookie,
      form: { username: 'alice', password: PASSWORD, _csrf: second.token },
    });
    expect(res.status).toBe(403);
  });

  test('a form-encoded sign-in with the nonce cookie and its signed token succeeds', async () => {
    const { cookie, token } = h.loginFormToken();
    const res = await h.fetch('/api/login', {
      cookie,
      form: { username: 'alice', password: PASSWORD, _csrf: token },
      headers: { origin: h.origin, 'sec-fetch-site': 'same-origin' },
    });
    expect([200, 303]).toContain(res.status);
    expect(sessionCookieOf(res)).not.toBeNull();
  });

  test('the login token in the query string does not count', async () => {
    const { cookie, token } = h.loginFormToken();
    const res = await h.fetch(`/api/login?_csrf=${encodeURIComponent(token)}`, {
      cookie,
      form: { username: 'alice', password: PASSWORD },
    });
    expect(res.status).toBe(403);
  });
});

describe('POST /api/login: throttling', () => {
  test('after 5 failures the right password gets 429 throttled with an integer Retry-After', async () => {
    await h.createUser('erin');
    for (let i = 0; i < 5; i++) {
      const res = await h.fetch('/api/login', {
        json: { username: 'erin', password: `wrong password ${i}` },
      });
      expect(res.status).toBe(401);
    }
    const res = await h.fetch('/api/login', { json: { username: 'erin', password: PASSWORD } });
    expect(res.status).toBe(429);
    expect(await jsonOf(res)).toMatchObject({ error: 'throttled' });
    const retryAfter = res.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  test('an unknown username is throttled exactly like a real one', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await h.fetch('/api/login', {
        json: { username: 'ghost', password: `wrong ${i} password` },
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  test('throttling is per account: another account still signs in', async () => {
    await h.createUser('frank');
    for (let i = 0; i < 5; i++)
      await h.fetch('/api/login', { json: { username: 'frank', password: `wrong ${i} password` } });
    expect((await h.fetch('/api/login', { json: { username: 'bob', password: PASSWORD } })).status).toBe(200);
  });

  test('the lockout lasts one window, then the right password works; a repeated lockout lasts longer', async () => {
    const clock = manualClock(Date.now());
    const own = await startHarness({ clock });
    try {
      const failFive = async () => {
        for (let i = 0; i < 5; i++)
          await own.fetch('/api/login', { json: { username: 'bob', password: `wrong ${i} password` } });
      };
      await failFive();
      const first = await own.fetch('/api/login', { json: { username: 'bob', password: PASSWORD } });
      expect(first.status).toBe(429);
      const firstWait = Number(first.headers.get('retry-after'));
      expect(firstWait).toBe(15 * 60);

      clock.advance(firstWait * 1000 + 1);
      await own.login('bob');

      await failFive();
      const second = await own.fetch('/api/login', { json: { username: 'bob', password: PASSWORD } });
      expect(second.status).toBe(429);
      expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(firstWait);
    } finally {
      await own.close();
    }
  });

  test('60 parallel guesses over 60 usernames from one IP, CLOAKROOM_THROTTLE_IP=10/15m: 10 are verified (401), 50 get 429 with Retry-After', async () => {
    // Regression: the address was counted only after the password check, so none was throttled.
    const own = await startHarness({ env: { CLOAKROOM_THROTTLE_IP: '10/15m' } });
    try {
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          own.fetch('/api/login', { json: { username: `guess${i}`, password: 'wrong password' } }),
        ),
      );
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(10);
      expect(statuses.filter((s) => s === 429)).toHaveLength(50);
      for (const r of answers.filter((a) => a.status === 429))
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      // The address is now locked out, even for the right password.
      const res = await own.fetch('/api/login', { json: { username: 'bob', password: PASSWORD } });
      expect(res.status).toBe(429);
    } finally {
      await own.close();
    }
  });

  test('successful sign-ins do not count towards CLOAKROOM_THROTTLE_IP; failures do', async () => {
    const own = await startHarness({ env: { CLOAKROOM_THROTTLE_IP: '3/15m' } });
    try {
      for (let i = 0; i < 6; i++) await own.login(i % 2 === 0 ? 'alice' : 'bob');
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await own.fetch('/api/login', {
          json: { username: `guess${i}`, password: 'wrong password' },
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await own.close();
    }
  });

  test('CLOAKROOM_THROTTLE_ACCOUNT changes the limit', async () => {
    const other = await startHarness({ env: { CLOAKROOM_THROTTLE_ACCOUNT: '2/15m' } });
    try {
      for (let i = 0; i < 2; i++)
        await other.fetch('/api/login', { json: { username: 'bob', password: `wrong ${i} password` } });
      const res = await other.fetch('/api/login', { json: { username: 'bob', password: PASSWORD } });
      expect(res.status).toBe(429);
    } finally {
      await other.close();
    }
  });
});

describe('POST /api/login: fixation and logs', () => {
  test("signing in destroys the session the request came with (another user's)", async () => {
    const bob = await h.login('bob');
    const res = await h.fetch('/api/login', {
      cookie: bob.cookie,
      json: { username: 'alice', password: PASSWORD },
    });
    expect(res.status).toBe(200);
    const alice = sessionCookieOf(res)!;
    expect(alice).not.toBe(bob.cookie);
    expect((await h.fetch('/api/session', { cookie: bob.cookie })).status).toBe(401);
    const me = await h.fetch('/api/session', { cookie: alice });
    expect((await jsonOf<{ user: { username: string } }>(me)).user.username).toBe('alice');
  });

  test('no password, token, CSRF token or cookie value ever reaches a log line', async () => {
    const alice = await h.login('alice');
    await h.fetch('/api/login', { json: { username: 'alice', password: 'a wrong guess here' } });
    const { cookie, token } = h.loginFormToken();
    await h.fetch('/api/login', { cookie, form: { username: 'bob', password: PASSWORD, _csrf: token } });
    await h.fetch('/api/login', { form: { username: 'bob', password: PASSWORD, _csrf: 'forged' } });
    await h.fetch('/api/session', { cookie: alice.cookie });
    await h.fetch('/api/logout', { method: 'POST', cookie: alice.cookie, csrf: alice.csrf });
    const logs = h.logText();
    expect(h.logs.some((l) => l.event === 'login.success')).toBe(true);
    expect(h.logs.some((l) => l.event === 'login.failure')).toBe(true);
    expect(h.logs.some((l) => l.event === 'logout')).toBe(true);
    const [tokenPart, signature] = alice.cookie.split('=')[1]!.split('.');
    for (const secret of [
      PASSWORD,
      'a wrong guess here',
      tokenPart!,
      signature!,
      alice.csrf,
      token,
      cookie.split('=')[1]!,
      'rz_ci1gnceZ8VxeMg0lWyLS9PEOrT-Mqm8WwToHN844',
    ]) {
      expect(logs).not.toContain(secret);
    }
  });

  test('a username with CR/LF is logged as one JSON line', async () => {
    const before = h.rawLogs.length;
    await h.fetch('/api/login', {
      json: { username: 'mallory\n{"event":"login.success","userId":"x"}', password: 'whatever password' },
    });
    const added = h.rawLogs.slice(before);
    // Refused as a bad username (control characters) or logged as one escaped JSON value: never a forged line.
    expect(added.filter((l) => l.includes('mallory')).length).toBeLessThanOrEqual(1);
    expect(h.logs.slice(before).filter((l) => l.event === 'login.success')).toHaveLength(0);
  });

  test('a username with quotes cannot forge JSON fields: it stays one string value', async () => {
    const before = h.logs.length;
    const forged = 'eve","event":"login.success","userid":"x';
    const res = await h.fetch('/api/login', { json: { username: forged, password: 'whatever password' } });
    expect(res.status).toBe(401);
    const added = h.logs.slice(before).filter((l) => l.username !== undefined);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ event: 'login.failure', username: forged });
    expect(h.logs.slice(before).filter((l) => l.event === 'login.success')).toHaveLength(0);
  });
});
