import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  asBrowser,
  PASSKEY_ENV,
  PUBLIC_URL,
  passkeySignIn,
  reauthOptions,
  registerPasskey,
  registrationOptions,
  secondFactorOptions,
  signInWithPasskey,
} from '../support/passkeys-api.js';
import { passwordStep, signInPassword } from '../support/second-factor-api.js';
import { jsonOf, type ServerHarness, startHarness } from '../support/server.js';
import { createSoftAuthenticator, type SoftAuthenticator } from '../support/soft-authenticator.js';

// The relying party is CLOAKROOM_PUBLIC_URL (origin http://localhost:4000, RP ID localhost): an
// assertion or attestation made for another origin or RP ID — a phishing page's — is refused at
// every step, and nothing is stored or signed in.

let h: ServerHarness;
beforeAll(async () => {
  h = await startHarness({ env: PASSKEY_ENV });
});
afterAll(() => h.close());

const WRONG = [
  { origin: 'http://localhost:4001' }, // another port: another origin
  { origin: 'https://localhost:4000' }, // another scheme
  { origin: 'http://evil.example' },
  { origin: 'http://evil.example', rpId: 'evil.example' },
  { rpId: 'example.com' }, // the right origin, a key for another RP ID
] as const;

let n = 0;
async function withPasskey(): Promise<{ name: string; authenticator: SoftAuthenticator }> {
  const name = `origin${n++}`;
  await h.createUser(name);
  const authenticator = createSoftAuthenticator(PUBLIC_URL);
  await registerPasskey(h, await signInPassword(h, name), authenticator);
  return { name, authenticator };
}

describe('a response for another origin or RP ID is refused', () => {
  test('registration: 400 invalid_passkey, nothing stored', async () => {
    await h.createUser('reg-origin');
    const browser = await signInPassword(h, 'reg-origin');
    for (const wrong of WRONG) {
      const options = await registrationOptions(h, browser);
      const response = createSoftAuthenticator(PUBLIC_URL).register(options, wrong);
      const res = await h.fetch('/api/account/passkeys', asBrowser(browser, { json: { response } }));
      expect(res.status, JSON.stringify(wrong)).toBe(400);
      expect(await jsonOf(res)).toMatchObject({ error: 'invalid_passkey' });
    }
    const list = await jsonOf<{ passkeys: unknown[] }>(
      await h.fetch('/api/account/passkeys', { jar: browser.jar }),
    );
    expect(list.passkeys).toEqual([]);
    expect(h.logs.filter((l) => l.event === 'passkey.failure' && l.route === 'register')).toHaveLength(
      WRONG.length,
    );
  });

  test('passwordless sign-in: 401 invalid_passkey, no session; the right origin still works', async () => {
    const { authenticator } = await withPasskey();
    for (const wrong of WRONG) {
      const { response, body } = await passkeySignIn(h, authenticator, { authenticate: wrong });
      expect(response.status, JSON.stringify(wrong)).toBe(401);
      expect(body).toMatchObject({ error: 'invalid_passkey' });
      expect(response.headers.getSetCookie().some((l) => l.startsWith('cloakroom='))).toBe(false);
    }
    await signInWithPasskey(h, authenticator);
  });

  test('second factor: 401 invalid_passkey, the pending state unused', async () => {
    const { name, authenticator } = await withPasskey();
    const first = await passwordStep(h, name);
    for (const wrong of WRONG) {
      const options = await secondFactorOptions(h, first.jar);
      const res = await h.fetch('/api/login/second-factor/passkey', {
        json: { response: authenticator.authenticate(options, wrong) },
        jar: first.jar,
      });
      expect(res.status, JSON.stringify(wrong)).toBe(401);
      expect(await jsonOf(res)).toMatchObject({ error: 'invalid_passkey' });
    }
    const options = await secondFactorOptions(h, first.jar);
    const ok = await h.fetch('/api/login/second-factor/passkey', {
      json: { response: authenticator.authenticate(options) },
      jar: first.jar,
    });
    expect(ok.status).toBe(200);
  });

  test('re-authentication: 401 invalid_passkey', async () => {
    const { authenticator } = await withPasskey();
    const browser = await signInWithPasskey(h, authenticator);
    for (const wrong of WRONG) {
      const options = await reauthOptions(h, browser);
      const res = await h.fetch(
        '/api/reauth/passkey',
        asBrowser(browser, { json: { response: authenticator.authenticate(options, wrong) } }),
      );
      expect(res.status, JSON.stringify(wrong)).toBe(401);
      expect(await jsonOf(res)).toMatchObject({ error: 'invalid_passkey' });
    }
  });

  test('a response of the wrong ceremony type (webauthn.create for a sign-in) is refused too', async () => {
    const { authenticator } = await withPasskey();
    const { response, body } = await passkeySignIn(h, authenticator, {
      authenticate: { type: 'webauthn.create' },
    });
    expect(response.status).toBe(401);
    expect(body).toMatchObject({ error: 'invalid_passkey' });
  });
});
