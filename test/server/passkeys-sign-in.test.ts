import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ceremonyCookie,
  PASSKEY_ENV,
  PUBLIC_URL,
  passkeySignIn,
  registerPasskey,
  signInOptions,
  signInWithPasskey,
} from '../support/passkeys-api.js';
import { type Browser, signInPassword } from '../support/second-factor-api.js';
import { CookieJar, jsonOf, type ServerHarness, startHarness } from '../support/server.js';
import { createSoftAuthenticator, type SoftAuthenticator } from '../support/soft-authenticator.js';

// Passwordless sign-in with a passkey (discoverable credential, user verification): a session
// that counts as two factors — X-Auth-Methods `hwk`, /auth/verify?mfa=1, and a role that
// CLOAKROOM_REQUIRE_2FA_ROLES names — and every way the finish is refused.

let h: ServerHarness;
beforeAll(async () => {
  h = await startHarness({ env: { ...PASSKEY_ENV, CLOAKROOM_REQUIRE_2FA_ROLES: 'ops' } });
});
afterAll(() => h.close());

let n = 0;
/** A new user (with `roles`) holding one registered passkey on a fresh authenticator. */
async function withPasskey(
  roles: string[] = [],
): Promise<{ name: string; authenticator: SoftAuthenticator }> {
  const name = `signer${n++}`;
  await h.createUser(name, { roles });
  const authenticator = createSoftAuthenticator(PUBLIC_URL);
  // A user of a role that must enrol may still register (the passkey routes enrol).
  const browser = await signInPassword(h, name);
  await registerPasskey(h, browser, authenticator);
  return { name, authenticator };
}

const verify = (browser: Browser, query = '') => h.fetch(`/auth/verify${query}`, { jar: browser.jar });

describe('a passkey signs in without a password', () => {
  test('options name no credential (discoverable), require user verification, and set the ceremony cookie', async () => {
    const res = await h.fetch('/api/login/passkey/options', { method: 'POST' });
    expect(res.status).toBe(200);
    const { options } = await jsonOf<{ options: Record<string, unknown> }>(res);
    expect(options).toMatchObject({ rpId: 'localhost', userVerification: 'required', allowCredentials: [] });
    expect(typeof options.challenge).toBe('string');
    const cookie = res.headers.getSetCookie().find((l) => l.startsWith('cloakroom-passkey='));
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Max-Age=300/);
  });

  test('200 {user, csrfToken} and a session cookie; the ceremony cookie is cleared; X-Auth-Methods hwk; ?mfa=1 passes', async () => {
    const { name, authenticator } = await withPasskey();
    const { jar, response, body } = await passkeySignIn(h, authenticator);
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ user: { username: name, secondFactor: true } });
    expect(typeof body.csrfToken).toBe('string');
    expect(ceremonyCookie(jar)).toBeUndefined();
    expect(response.headers.getSetCookie().some((l) => /^cloakroom=[^;]+;/.test(l))).toBe(true);
    const browser = { jar, csrf: body.csrfToken as string };
    const ok = await verify(browser);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-auth-user')).toBe(name);
    expect(ok.headers.get('x-auth-methods')).toBe('hwk');
    const mfa = await verify(browser, '?mfa=1');
    expect(mfa.status).toBe(200);
    expect(mfa.headers.get('x-auth-methods')).toBe('hwk');
    // The session works like any other: the CSRF token it came with is good.
    const session = await h.fetch('/api/session', { jar });
    expect(session.status).toBe(200);
    const logout = await h.fetch('/api/logout', { method: 'POST', jar, csrf: browser.csrf });
    expect(logout.status).toBe(204);
    const audit = h.logs.find(
      (l) => l.event === 'login.passkey' && l.userId === (body.user as { id: string }).id,
    );
    expect(audit).toMatchObject({ passkey: authenticator.credentials[0]!.id, remember: false });
  });

  test('remember: true gives a persistent cookie', async () => {
    const { authenticator } = await withPasskey();
    const { response } = await passkeySignIn(h, authenticator, { remember: true });
    expect(response.status).toBe(200);
    const cookie = response.headers.getSetCookie().find((l) => l.startsWith('cloakroom='));
    expect(cookie).toMatch(/; Max-Age=2592000/);
  });

  test('a user whose role must enrol (CLOAKROOM_REQUIRE_2FA_ROLES) is served after a passkey sign-in, not after a password alone', async () => {
    const { name, authenticator } = await withPasskey(['ops']);
    // The password step of a user with a passkey is a pending state, not a session.
    const password = await h.fetch('/api/login', {
      json: { username: name, password: 'correct horse battery staple' },
    });
    expect(password.status).toBe(401);
    expect(await jsonOf(password)).toMatchObject({ error: 'second_factor_required', factors: ['passkey'] });
    const browser = await signInWithPasskey(h, authenticator);
    expect((await h.fetch('/api/sessions', { jar: browser.jar })).status).toBe(200);
    expect((await verify(browser)).status).toBe(200);
  });

  test('the session counts in cloakroom_logins_total as a success', async () => {
    const { authenticator } = await withPasskey();
    const metric = async () => {
      const text = await (await h.fetch('/metrics')).text();
      return Number(/cloakroom_logins_total\{outcome="success"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const before = await metric();
    await signInWithPasskey(h, authenticator);
    expect(await metric()).toBe(before + 1);
  });
});

describe('refused: 401 invalid_passkey or ceremony_expired, no session', () => {
  const refused = async (result: Awaited<ReturnType<typeof passkeySignIn>>, error: string) => {
    expect(result.response.status, JSON.stringify(result.body)).toBe(401);
    expect(result.body).toMatchObject({ error });
    expect(result.response.headers.getSetCookie().some((l) => /^(__Host-)?cloakroom=[^;]/.test(l))).toBe(
      false,
    );
  };

  test('without user verification', async () => {
    const { authenticator } = await withPasskey();
    await refused(
      await passkeySignIn(h, authenticator, { authenticate: { userVerified: false } }),
      'invalid_passkey',
    );
  });

  test('a bad signature', async () => {
    const { authenticator } = await withPasskey();
    await refused(
      await passkeySignIn(h, authenticator, { authenticate: { tamperSignature: true } }),
      'invalid_passkey',
    );
  });

  test('a credential the server does not know (never registered, or removed)', async () => {
    const stranger = createSoftAuthenticator(PUBLIC_URL);
    const { name } = await withPasskey();
    // A key made for this RP and this user id, that the server never saw.
    const record = await h.deps.users.getByUsername(name);
    stranger.register({
      challenge: 'x',
      rp: { id: 'localhost', name: 'cloakroom' },
      user: { id: Buffer.from(record!.id).toString('base64url'), name, displayName: name },
    });
    await refused(await passkeySignIn(h, stranger), 'invalid_passkey');
  });

  test('a user handle that names another user', async () => {
    const { authenticator } = await withPasskey();
    const other = await h.deps.users.getByUsername('bob');
    const handle = Buffer.from(other!.id).toString('base64url');
    await refused(
      await passkeySignIn(h, authenticator, { authenticate: { userHandle: handle } }),
      'invalid_passkey',
    );
  });

  test('a locked account: the same answer', async () => {
    const { name, authenticator } = await withPasskey();
    const record = await h.deps.users.getByUsername(name);
    await h.deps.users.update(record!.id, { locked: true }, Date.now());
    await refused(await passkeySignIn(h, authenticator), 'invalid_passkey');
  });

  test('a counter that went backwards: refused, and a suspected clone is audited', async () => {
    const { name, authenticator } = await withPasskey();
    await signInWithPasskey(h, authenticator);
    await signInWithPasskey(h, authenticator);
    await refused(await passkeySignIn(h, authenticator, { authenticate: { counter: 1 } }), 'invalid_passkey');
    const record = await h.deps.users.getByUsername(name);
    expect(h.logs.filter((l) => l.event === 'passkey.clone-suspected' && l.userId === record!.id)).toEqual([
      expect.objectContaining({ passkey: authenticator.credentials[0]!.id }),
    ]);
  });

  test('no ceremony cookie, or the ceremony cookie of another browser: ceremony_expired', async () => {
    const { authenticator } = await withPasskey();
    const mine = await signInOptions(h);
    const response = authenticator.authenticate(mine.options);
    const none = await h.fetch('/api/login/passkey', { json: { response } });
    await refused({ jar: new CookieJar(), response: none, body: await jsonOf(none) }, 'ceremony_expired');
    const theirs = await signInOptions(h);
    const foreign = await h.fetch('/api/login/passkey', { json: { response }, jar: theirs.jar });
    await refused({ jar: theirs.jar, response: foreign, body: await jsonOf(foreign) }, 'ceremony_expired');
    // A forged cookie is no ceremony either.
    const forged = await h.fetch('/api/login/passkey', {
      json: { response },
      cookie: `cloakroom-passkey=${'A'.repeat(43)}.${Date.now() + 60_000}.${'B'.repeat(43)}`,
    });
    await refused({ jar: new CookieJar(), response: forged, body: await jsonOf(forged) }, 'ceremony_expired');
    // The browser the challenge was issued to still signs in with it.
    const ok = await h.fetch('/api/login/passkey', { json: { response }, jar: mine.jar });
    expect(ok.status).toBe(200);
  });

  test('an admin reset of the second factor removes the passkeys: the next passkey sign-in is refused', async () => {
    const { name, authenticator } = await withPasskey();
    const record = await h.deps.users.getByUsername(name);
    const admin = await signInPassword(h, 'alice');
    const listed = await jsonOf<{ users: Array<{ id: string; passkeys: number; secondFactor: boolean }> }>(
      await h.fetch('/api/admin/users', { jar: admin.jar }),
    );
    expect(listed.users.find((u) => u.id === record!.id)).toMatchObject({ passkeys: 1, secondFactor: true });
    const reset = await h.fetch(`/api/admin/users/${record!.id}/second-factor/reset`, {
      method: 'POST',
      jar: admin.jar,
      csrf: admin.csrf,
    });
    expect(reset.status).toBe(200);
    expect(await jsonOf(reset)).toMatchObject({ user: { passkeys: 0, secondFactor: false } });
    await refused(await passkeySignIn(h, authenticator), 'invalid_passkey');
  });
});
