import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PASSKEY_ENV, PUBLIC_URL, registerPasskey, secondFactorOptions } from '../support/passkeys-api.js';
import { enrol, passwordStep, pendingCookie, signInPassword } from '../support/second-factor-api.js';
import { jsonOf, type ServerHarness, startHarness } from '../support/server.js';
import { createSoftAuthenticator, type SoftAuthenticator } from '../support/soft-authenticator.js';

// A passkey as the second step of a password sign-in: the pending cookie (never a session) asks
// for options offering the user's passkeys, and the assertion finishes the sign-in with methods
// pwd,hwk — once per pending state, whatever finishes it.

let h: ServerHarness;
beforeAll(async () => {
  h = await startHarness({ env: PASSKEY_ENV });
});
afterAll(() => h.close());

let n = 0;
async function withPasskey(): Promise<{
  name: string;
  authenticator: SoftAuthenticator;
  recoveryCodes: string[];
}> {
  const name = `second${n++}`;
  await h.createUser(name);
  const authenticator = createSoftAuthenticator(PUBLIC_URL);
  const browser = await signInPassword(h, name);
  const { recoveryCodes } = await registerPasskey(h, browser, authenticator);
  return { name, authenticator, recoveryCodes: recoveryCodes! };
}

describe('password, then passkey', () => {
  test('401 second_factor_required naming the passkey; options offer the user’s passkeys; 200 with pwd,hwk', async () => {
    const { name, authenticator } = await withPasskey();
    const first = await passwordStep(h, name);
    expect(first.response.status).toBe(401);
    expect(first.body).toMatchObject({ error: 'second_factor_required', factors: ['passkey'] });
    expect(pendingCookie(first.jar)).toBeDefined();

    const options = await secondFactorOptions(h, first.jar);
    expect(options.allowCredentials?.map((c) => c.id)).toEqual([authenticator.credentials[0]!.id]);
    expect(options).toMatchObject({ rpId: 'localhost', userVerification: 'preferred' });
    const res = await h.fetch('/api/login/second-factor/passkey', {
      json: { response: authenticator.authenticate(options) },
      jar: first.jar,
    });
    const body = await jsonOf(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ user: { username: name, secondFactor: true } });
    expect(pendingCookie(first.jar)).toBeUndefined();
    const verify = await h.fetch('/auth/verify?mfa=1', { jar: first.jar });
    expect(verify.status).toBe(200);
    expect(verify.headers.get('x-auth-methods')).toBe('pwd,hwk');
    const audit = h.logs.find((l) => l.event === 'login.second-factor' && l.method === 'passkey');
    expect(audit).toBeDefined();
  });

  test('a user with TOTP and a passkey may finish with either; the 401 names both', async () => {
    const name = `both${n++}`;
    await h.createUser(name);
    const browser = await signInPassword(h, name);
    await enrol(h, browser, Date.now);
    const authenticator = createSoftAuthenticator(PUBLIC_URL);
    const { recoveryCodes } = await registerPasskey(h, browser, authenticator);
    expect(recoveryCodes).toBeNull(); // TOTP came with its codes already
    const first = await passwordStep(h, name);
    expect(first.body).toMatchObject({ factors: ['totp', 'passkey'] });
    const options = await secondFactorOptions(h, first.jar);
    const res = await h.fetch('/api/login/second-factor/passkey', {
      json: { response: authenticator.authenticate(options) },
      jar: first.jar,
    });
    expect(res.status).toBe(200);
  });

  test('a passkey-only user may finish with a recovery code instead', async () => {
    const { name, recoveryCodes } = await withPasskey();
    const first = await passwordStep(h, name);
    const res = await h.fetch('/api/login/second-factor', {
      json: { recoveryCode: recoveryCodes[0] },
      jar: first.jar,
    });
    expect(res.status).toBe(200);
    expect((await h.fetch('/auth/verify', { jar: first.jar })).headers.get('x-auth-methods')).toBe('pwd,otp');
  });
});

describe('the pending cookie', () => {
  test('is not a session: no route and no /auth/verify accepts it', async () => {
    const { name } = await withPasskey();
    const first = await passwordStep(h, name);
    const pending = pendingCookie(first.jar)!;
    for (const path of ['/api/session', '/auth/verify', '/api/account/passkeys']) {
      const res = await h.fetch(path, { cookie: pending });
      expect(res.status, path).toBe(401);
    }
    // Not as the session cookie's value either.
    const value = pending.slice(pending.indexOf('=') + 1);
    expect((await h.fetch('/api/session', { cookie: `cloakroom=${value}` })).status).toBe(401);
    for (const path of ['/api/reauth/passkey/options', '/api/account/passkeys/options']) {
      const res = await h.fetch(path, { method: 'POST', cookie: pending });
      expect(res.status, path).toBe(401);
    }
  });

  test('without one (or a session instead of one): 401 pending_expired for options and finish', async () => {
    const { authenticator } = await withPasskey();
    const bob = await signInPassword(h, 'bob');
    for (const init of [{}, { jar: bob.jar }]) {
      const options = await h.fetch('/api/login/second-factor/passkey/options', { method: 'POST', ...init });
      expect(options.status).toBe(401);
      expect(await jsonOf(options)).toMatchObject({ error: 'pending_expired' });
      const finish = await h.fetch('/api/login/second-factor/passkey', {
        json: { response: authenticator.authenticate({ challenge: 'AAAA', rpId: 'localhost' }) },
        ...init,
      });
      expect(finish.status).toBe(401);
      expect(await jsonOf(finish)).toMatchObject({ error: 'pending_expired' });
    }
  });

  test('is used once: after a passkey finish, neither a code nor a second passkey finish makes another session', async () => {
    const { name, authenticator, recoveryCodes } = await withPasskey();
    const first = await passwordStep(h, name);
    const pending = pendingCookie(first.jar)!;
    const options = await secondFactorOptions(h, first.jar);
    const options2 = await secondFactorOptions(h, first.jar);
    const ok = await h.fetch('/api/login/second-factor/passkey', {
      json: { response: authenticator.authenticate(options) },
      cookie: pending,
    });
    expect(ok.status).toBe(200);
    const again = await h.fetch('/api/login/second-factor/passkey', {
      json: { response: authenticator.authenticate(options2) },
      cookie: pending,
    });
    expect(again.status).toBe(401);
    expect(await jsonOf(again)).toMatchObject({ error: 'pending_expired' });
    const code = await h.fetch('/api/login/second-factor', {
      json: { recoveryCode: recoveryCodes[0] },
      cookie: pending,
    });
    expect(code.status).toBe(401);
    expect(await jsonOf(code)).toMatchObject({ error: 'pending_expired' });
  });

  test('binds the challenge: options fetched with one pending state do not finish another', async () => {
    const { name, authenticator } = await withPasskey();
    const a = await passwordStep(h, name);
    const b = await passwordStep(h, name);
    const options = await secondFactorOptions(h, a.jar);
    const res = await h.fetch('/api/login/second-factor/passkey', {
      json: { response: authenticator.authenticate(options) },
      jar: b.jar,
    });
    expect(res.status).toBe(401);
    expect(await jsonOf(res)).toMatchObject({ error: 'ceremony_expired' });
  });

  test('a passkey of another user does not finish this user’s sign-in', async () => {
    const { name } = await withPasskey();
    const other = await withPasskey();
    const first = await passwordStep(h, name);
    const options = await secondFactorOptions(h, first.jar);
    const res = await h.fetch('/api/login/second-factor/passkey', {
      json: { response: other.authenticator.authenticate(options) },
      jar: first.jar,
    });
    expect(res.status).toBe(401);
    expect(await jsonOf(res)).toMatchObject({ error: 'invalid_passkey' });
  });

  test('a user with TOTP only: options are 409 conflict (no passkey to offer)', async () => {
    const name = `totp${n++}`;
    await h.createUser(name);
    await enrol(h, await signInPassword(h, name), Date.now);
    const first = await passwordStep(h, name);
    expect(first.body).toMatchObject({ factors: ['totp'] });
    const res = await h.fetch('/api/login/second-factor/passkey/options', { method: 'POST', jar: first.jar });
    expect(res.status).toBe(409);
  });
});
