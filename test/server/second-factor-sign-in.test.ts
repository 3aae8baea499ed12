import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import {
  type Browser,
  enrol,
  passwordStep,
  pendingCookie,
  sessionCookie,
  signInPassword,
  signInTwoSteps,
  totpCode,
} from '../support/second-factor-api.js';
import { CookieJar, jsonOf, PASSWORD, type ServerHarness, startHarness } from '../support/server.js';

// Two-step sign-in over the JSON API, on a real server whose clock the test steps: the TOTP
// windows, the pending state's five minutes and replays are decided by time, not by sleeping.

const STEP = 30_000;
let clock: ManualClock;
let h: ServerHarness;
beforeEach(async () => {
  clock = manualClock();
  h = await startHarness({ clock });
});
afterEach(async () => h.close());

/** bob, enrolled through the API; the clock is then one step on, so a fresh code is unused. */
async function enrolledBob(): Promise<{ secret: string; recoveryCodes: string[] }> {
  const browser = await signInPassword(h, 'bob');
  const enrolled = await enrol(h, browser, clock.now);
  clock.advance(STEP);
  return enrolled;
}

describe('enrolment over the API', () => {
  test('totp gives a key, an otpauth URI and a QR SVG; confirm with a code turns it on and returns ten recovery codes once', async () => {
    const browser = await signInPassword(h, 'bob');
    const before = await jsonOf(await h.fetch('/api/account/second-factor', { jar: browser.jar }));
    expect(before).toEqual({ enabled: false, recoveryCodesLeft: 0, enrolledAt: null });

    const begun = await h.fetch('/api/account/second-factor/totp', {
      method: 'POST',
      jar: browser.jar,
      csrf: browser.csrf,
    });
    expect(begun.status).toBe(200);
    const { secret, uri, qrSvg } = await jsonOf<{ secret: string; uri: string; qrSvg: string }>(begun);
    expect(secret).toMatch(/^[A-Z2-7]{32,}$/);
    expect(uri).toMatch(/^otpauth:\/\/totp\/cloakroom:bob\?/);
    expect(new URL(uri).searchParams.get('secret')).toBe(secret);
    expect(qrSvg).toMatch(/^<svg [^>]*role="img"[^>]*viewBox="0 0 \d+ \d+"/);

    // Not on until a code proves the app has the key.
    const wrong = await h.fetch('/api/account/second-factor/totp/confirm', {
      json: { code: totpCode(secret, clock.now() + 10 * STEP) },
      jar: browser.jar,
      csrf: browser.csrf,
    });
    expect(wrong.status).toBe(401);
    expect(await jsonOf(wrong)).toMatchObject({ error: 'invalid_code' });
    expect((await jsonOf(await h.fetch('/api/account/second-factor', { jar: browser.jar }))).enabled).toBe(
      false,
    );

    const confirmed = await h.fetch('/api/account/second-factor/totp/confirm', {
      json: { code: totpCode(secret, clock.now()) },
      jar: browser.jar,
      csrf: browser.csrf,
    });
    expect(confirmed.status).toBe(200);
    const body = await jsonOf<{ recoveryCodes: string[]; csrfToken: string }>(confirmed);
    expect(body.recoveryCodes).toHaveLength(10);
    expect(new Set(body.recoveryCodes).size).toBe(10);
    // The session was rotated: the answer carries the new cookie and token.
    expect(sessionCookie(browser.jar)).toBeDefined();
    expect(body.csrfToken).not.toBe(browser.csrf);

    const status = await jsonOf(await h.fetch('/api/account/second-factor', { jar: browser.jar }));
    expect(status).toEqual({
      enabled: true,
      recoveryCodesLeft: 10,
      enrolledAt: new Date(clock.now()).toISOString(),
    });
    const me = await jsonOf<{ user: { secondFactor: boolean } }>(
      await h.fetch('/api/session', { jar: browser.jar }),
    );
    expect(me.user.secondFactor).toBe(true);
    // Never again: neither the key nor the codes are readable afterwards.
    expect(JSON.stringify(status)).not.toContain(secret);
    const again = await h.fetch('/api/account/second-factor/totp', {
      method: 'POST',
      jar: browser.jar,
      csrf: body.csrfToken,
    });
    expect(again.status).toBe(409);
    expect(await jsonOf(again)).toMatchObject({ error: 'conflict' });
    // Neither the key nor a code reaches the log.
    expect(h.logText()).not.toContain(secret);
    for (const code of body.recoveryCodes) expect(h.logText()).not.toContain(code);
  });

  test('GET totp gives back the enrolment in progress with the same key; 404 when none, 403 outside the window, 409 once on', async () => {
    const browser = await signInPassword(h, 'bob');
    const current = () => h.fetch('/api/account/second-factor/totp', { jar: browser.jar });
    const none = await current();
    expect(none.status).toBe(404);
    expect(await jsonOf(none)).toMatchObject({ error: 'not_found' });

    const begun = await jsonOf<{ secret: string; uri: string; qrSvg: string }>(
      await h.fetch('/api/account/second-factor/totp', {
        method: 'POST',
        jar: browser.jar,
        csrf: browser.csrf,
      }),
    );
    const again = await current();
    expect(again.status).toBe(200);
    expect(await jsonOf(again)).toEqual(begun);

    clock.advance(10 * 60_000 + 1);
    const late = await current();
    expect(late.status).toBe(403);
    expect(await jsonOf(late)).toMatchObject({ error: 'reauth_required' });
    const reauth = await h.fetch('/api/reauth', {
      json: { password: PASSWORD },
      jar: browser.jar,
      csrf: browser.csrf,
    });
    expect(reauth.status).toBe(200);
    const { csrfToken } = await jsonOf<{ csrfToken: string }>(reauth);
    expect(await jsonOf(await current())).toMatchObject({ secret: begun.secret });

    // The key read back confirms.
    const confirmed = await h.fetch('/api/account/second-factor/totp/confirm', {
      json: { code: totpCode(begun.secret, clock.now()) },
      jar: browser.jar,
      csrf: csrfToken,
    });
    expect(confirmed.status).toBe(200);
    const on = await current();
    expect(on.status).toBe(409);
    expect(await jsonOf(on)).toMatchObject({ error: 'conflict' });
  });

  test('admin user JSON shows who has a second factor', async () => {
    await enrolledBob();
    const admin = await signInPassword(h, 'alice');
    const { users } = await jsonOf<{ users: Array<{ username: string; secondFactor: boolean }> }>(
      await h.fetch('/api/admin/users', { jar: admin.jar }),
    );
    expect(Object.fromEntries(users.map((u) => [u.username, u.secondFactor]))).toEqual({
      alice: false,
      bob: true,
    });
  });
});

describe('POST /api/login for an enrolled user', () => {
  test('the password alone: 401 second_factor_required, a pending cookie, no session cookie', async () => {
    await enrolledBob();
    const { jar, response, body } = await passwordStep(h, 'bob');
    expect(response.status).toBe(401);
    expect(body).toMatchObject({ error: 'second_factor_required', next: '/api/login/second-factor' });
    expect(body).not.toHaveProperty('csrfToken');
    expect(body).not.toHaveProperty('user');
    expect(sessionCookie(jar)).toBeUndefined();
    const line = response.headers.getSetCookie().find((c) => c.startsWith('cloakroom-pending='));
    expect(line).toMatch(/HttpOnly/i);
    expect(line).toMatch(/Max-Age=300\b/);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  test('a wrong password for an enrolled user is the same 401 invalid_credentials as for anyone', async () => {
    await enrolledBob();
    const { response, body, jar } = await passwordStep(h, 'bob', 'not the password at all');
    expect(response.status).toBe(401);
    expect(body.error).toBe('invalid_credentials');
    expect(pendingCookie(jar)).toBeUndefined();
  });
});

describe('POST /api/login/second-factor', () => {
  test('the right code signs in: 200 {user, csrfToken, recoveryCodesLeft}, a session with methods pwd,otp, the pending cookie cleared', async () => {
    const { secret } = await enrolledBob();
    const signedIn = await signInTwoSteps(h, 'bob', { code: totpCode(secret, clock.now()) });
    expect(signedIn.body).toMatchObject({
      user: { id: h.ids.bob, username: 'bob', secondFactor: true },
      recoveryCodesLeft: 10,
    });
    expect(pendingCookie(signedIn.jar)).toBeUndefined();
    const me = await h.fetch('/api/session', { jar: signedIn.jar });
    expect(me.status).toBe(200);
    const verify = await h.fetch('/auth/verify', { jar: signedIn.jar });
    expect(verify.status).toBe(200);
    expect(verify.headers.get('x-auth-methods')).toBe('pwd,otp');
    // The CSRF token of the answer works.
    const patched = await h.fetch('/api/profile', {
      method: 'PATCH',
      json: { displayName: 'Bob' },
      jar: signedIn.jar,
      csrf: signedIn.csrf,
    });
    expect(patched.status).toBe(200);
  });

  test('a code from one step before or after (clock skew) is accepted; two steps off is not', async () => {
    const { secret } = await enrolledBob();
    const refused = await passwordStep(h, 'bob');
    const far = await h.fetch('/api/login/second-factor', {
      json: { code: totpCode(secret, clock.now() - 2 * STEP) },
      jar: refused.jar,
    });
    expect(far.status).toBe(401);
    expect(await jsonOf(far)).toMatchObject({ error: 'invalid_code' });
    await signInTwoSteps(h, 'bob', { code: totpCode(secret, clock.now() + STEP) });
    clock.advance(3 * STEP);
    await signInTwoSteps(h, 'bob', { code: totpCode(secret, clock.now() - STEP) });
  });

  test('a code is accepted once: the same code again, in the same step, is refused (invalid_code)', async () => {
    const { secret } = await enrolledBob();
    const code = totpCode(secret, clock.now());
    await signInTwoSteps(h, 'bob', { code });
    const second = await passwordStep(h, 'bob');
    const replay = await h.fetch('/api/login/second-factor', { json: { code }, jar: second.jar });
    expect(replay.status).toBe(401);
    expect(await jsonOf(replay)).toMatchObject({ error: 'invalid_code' });
    expect(sessionCookie(second.jar)).toBeUndefined();
    // The code that confirmed the enrolment was used up too (the enrolment step is past, so the
    // next step's code is what works).
    clock.advance(STEP);
    await h.fetch('/api/login/second-factor', {
      json: { code: totpCode(secret, clock.now()) },
      jar: second.jar,
    });
    expect(sessionCookie(second.jar)).toBeDefined();
  });

  test('a pending state is used once: sending the same pending cookie again is 401 pending_expired', async () => {
    const { secret } = await enrolledBob();
    const first = await passwordStep(h, 'bob');
    const pending = pendingCookie(first.jar)!;
    const ok = await h.fetch('/api/login/second-factor', {
      json: { code: totpCode(secret, clock.now()) },
      cookie: pending,
    });
    expect(ok.status).toBe(200);
    clock.advance(STEP);
    const again = await h.fetch('/api/login/second-factor', {
      json: { code: totpCode(secret, clock.now()) },
      cookie: pending,
    });
    expect(again.status).toBe(401);
    expect(await jsonOf(again)).toMatchObject({ error: 'pending_expired' });
    expect(again.headers.getSetCookie().some((c) => /^(__Host-)?cloakroom=[^;]/.test(c))).toBe(false);
  });

  test('the pending state lasts five minutes', async () => {
    const { secret } = await enrolledBob();
    const first = await passwordStep(h, 'bob');
    clock.advance(5 * 60_000);
    const late = await h.fetch('/api/login/second-factor', {
      json: { code: totpCode(secret, clock.now()) },
      jar: first.jar,
    });
    expect(late.status).toBe(401);
    expect(await jsonOf(late)).toMatchObject({ error: 'pending_expired' });
  });

  test('without a pending cookie: 401 pending_expired; a malformed body: 401 invalid_code or 400', async () => {
    await enrolledBob();
    const none = await h.fetch('/api/login/second-factor', { json: { code: '123456' } });
    expect(none.status).toBe(401);
    expect(await jsonOf(none)).toMatchObject({ error: 'pending_expired' });
    const first = await passwordStep(h, 'bob');
    const missing = await h.fetch('/api/login/second-factor', { json: {}, jar: first.jar });
    expect(missing.status).toBe(401);
    expect(await jsonOf(missing)).toMatchObject({ error: 'invalid_code' });
    const text = await h.fetch('/api/login/second-factor', {
      body: 'code=1',
      jar: first.jar,
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(400);
  });

  test('a recovery code signs in once; the count goes down; the same code again is refused', async () => {
    const { recoveryCodes } = await enrolledBob();
    const recoveryCode = recoveryCodes[3]!;
    const signedIn = await signInTwoSteps(h, 'bob', { recoveryCode });
    expect(signedIn.body.recoveryCodesLeft).toBe(9);
    const verify = await h.fetch('/auth/verify', { jar: signedIn.jar });
    expect(verify.headers.get('x-auth-methods')).toBe('pwd,otp');
    const again = await passwordStep(h, 'bob');
    const reused = await h.fetch('/api/login/second-factor', { json: { recoveryCode }, jar: again.jar });
    expect(reused.status).toBe(401);
    expect(await jsonOf(reused)).toMatchObject({ error: 'invalid_code' });
  });

  test('a foreign Origin is refused (login CSRF) before anything is checked', async () => {
    const { secret } = await enrolledBob();
    const first = await passwordStep(h, 'bob');
    const res = await h.fetch('/api/login/second-factor', {
      json: { code: totpCode(secret, clock.now()) },
      jar: first.jar,
      headers: { origin: 'https://evil.example' },
    });
    expect(res.status).toBe(403);
    expect(await jsonOf(res)).toMatchObject({ error: 'csrf' });
    // The pending state was not used: the same browser still finishes from the right origin.
    const ok = await h.fetch('/api/login/second-factor', {
      json: { code: totpCode(secret, clock.now()) },
      jar: first.jar,
    });
    expect(ok.status).toBe(200);
  });

  test('a password change between the steps voids the pending state (pending_expired)', async () => {
    const { secret } = await enrolledBob();
    const first = await passwordStep(h, 'bob');
    const admin = await signInPassword(h, 'alice');
    const reset = await h.fetch(`/api/admin/users/${h.ids.bob}/password`, {
      json: { password: 'a brand new password 9' },
      jar: admin.jar,
      csrf: admin.csrf,
    });
    expect(reset.status).toBe(200);
    const late = await h.fetch('/api/login/second-factor', {
      json: { code: totpCode(secret, clock.now()) },
      jar: first.jar,
    });
    expect(late.status).toBe(401);
    expect(await jsonOf(late)).toMatchObject({ error: 'pending_expired' });
  });
});

describe('the pending cookie is never a session', () => {
  /** Every route that needs a session, with a body where it takes one. */
  const AUTHENTICATED: Array<[string, string, unknown?]> = [
    ['GET', '/api/session'],
    ['GET', '/api/sessions'],
    ['PATCH', '/api/profile', { displayName: 'x' }],
    ['POST', '/api/password', { currentPassword: 'x', newPassword: 'y' }],
    ['POST', '/api/sessions/revoke-others'],
    ['DELETE', '/api/sessions/abc'],
    ['POST', '/api/reauth', { password: 'x' }],
    ['GET', '/api/account/second-factor'],
    ['POST', '/api/account/second-factor/totp'],
    ['POST', '/api/account/second-factor/totp/confirm', { code: '123456' }],
    ['POST', '/api/account/second-factor/recovery-codes'],
    ['POST', '/api/account/second-factor/disable', { code: '123456' }],
    ['GET', '/api/admin/users'],
    ['POST', '/api/admin/users', { username: 'x', password: 'y', roles: [] }],
    ['GET', '/auth/verify'],
  ];

  test('every authenticated route and /auth/verify answer 401 to a browser holding only the pending cookie', async () => {
    await enrolledBob();
    // Make bob an admin first, so /api/admin/* would pass on a session.
    await h.deps.users.update(h.ids.bob, { roles: ['admin'] }, clock.now());
    const { jar } = await passwordStep(h, 'bob');
    expect(pendingCookie(jar)).toBeDefined();
    for (const [method, path, json] of AUTHENTICATED) {
      const res = await h.fetch(path, { method, jar, ...(json === undefined ? {} : { json }) });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect((await jsonOf(res)).error, `${method} ${path}`).toBe('unauthenticated');
    }
    // Pages send it to sign in as well.
    for (const page of ['/account', '/admin', '/account/second-factor']) {
      const res = await h.fetch(page, { jar });
      expect(res.status, page).toBe(303);
      expect(res.headers.get('location'), page).toMatch(/^\/login/);
    }
  });

  test('its value under the session cookie name is no session either', async () => {
    await enrolledBob();
    const { jar } = await passwordStep(h, 'bob');
    const value = pendingCookie(jar)!.split('=').slice(1).join('=');
    for (const [method, path] of [
      ['GET', '/api/session'],
      ['GET', '/auth/verify'],
      ['GET', '/api/sessions'],
    ] as const) {
      const res = await h.fetch(path, { method, cookie: `cloakroom=${value}` });
      expect(res.status, path).toBe(401);
    }
  });

  test('/api/logout with only the pending cookie ends nothing and signs nobody out', async () => {
    const { secret } = await enrolledBob();
    const other: Browser = await signInTwoSteps(h, 'bob', { code: totpCode(secret, clock.now()) });
    clock.advance(STEP);
    const { jar } = await passwordStep(h, 'bob');
    const res = await h.fetch('/api/logout', { method: 'POST', jar });
    expect(res.status).toBe(204);
    expect(h.logs.some((l) => l.event === 'logout')).toBe(false);
    expect((await h.fetch('/api/session', { jar: other.jar })).status).toBe(200);
  });

  test('a pending cookie from one browser cannot be finished by another (it is the browser that holds it)', async () => {
    const { secret } = await enrolledBob();
    await passwordStep(h, 'bob');
    const stranger = new CookieJar();
    const res = await h.fetch('/api/login/second-factor', {
      json: { code: totpCode(secret, clock.now()) },
      jar: stranger,
    });
    expect(res.status).toBe(401);
    expect(await jsonOf(res)).toMatchObject({ error: 'pending_expired' });
  });
});
