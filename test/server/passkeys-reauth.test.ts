import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { manualClock } from '../../packages/cloakroom/src/core/clock.js';
import {
  asBrowser,
  PASSKEY_ENV,
  PUBLIC_URL,
  reauthOptions,
  registerPasskey,
  signInWithPasskey,
} from '../support/passkeys-api.js';
import { type Browser, signInPassword } from '../support/second-factor-api.js';
import { jsonOf, type ServerHarness, sessionCookieOf, startHarness } from '../support/server.js';
import { createSoftAuthenticator, type SoftAuthenticator } from '../support/soft-authenticator.js';

// "Confirm it is you" with a passkey: a session past the re-auth window proves itself again with
// a passkey (user verification required) and gets a new ticket, methods hwk.

let h: ServerHarness;
const clock = manualClock(Date.now());
beforeAll(async () => {
  h = await startHarness({ env: PASSKEY_ENV, clock });
});
afterAll(() => h.close());

let n = 0;
async function staleSession(): Promise<{ browser: Browser; authenticator: SoftAuthenticator }> {
  const name = `reauth${n++}`;
  await h.createUser(name);
  const authenticator = createSoftAuthenticator(PUBLIC_URL);
  await registerPasskey(h, await signInPassword(h, name), authenticator);
  const browser = await signInWithPasskey(h, authenticator);
  clock.advance(11 * 60_000);
  const refused = await h.fetch('/api/account/passkeys/options', asBrowser(browser));
  expect(refused.status).toBe(403);
  return { browser, authenticator };
}

describe('re-authentication with a passkey', () => {
  test('200 {csrfToken} with a new session cookie; recent again; the old ticket is gone; methods hwk', async () => {
    const { browser, authenticator } = await staleSession();
    const oldCookie = [...browser.jar.cookies].find(([k]) => k === 'cloakroom')!.join('=');
    const options = await reauthOptions(h, browser);
    expect(options).toMatchObject({ rpId: 'localhost', userVerification: 'required' });
    expect(options.allowCredentials?.map((c) => c.id)).toEqual([authenticator.credentials[0]!.id]);
    const res = await h.fetch(
      '/api/reauth/passkey',
      asBrowser(browser, { json: { response: authenticator.authenticate(options) } }),
    );
    const body = await jsonOf<{ csrfToken: string }>(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(sessionCookieOf(res)).not.toBe(oldCookie);
    browser.csrf = body.csrfToken;
    expect((await h.fetch('/api/account/passkeys/options', asBrowser(browser))).status).toBe(200);
    expect((await h.fetch('/api/session', { cookie: oldCookie })).status).toBe(401);
    expect((await h.fetch('/auth/verify', { jar: browser.jar })).headers.get('x-auth-methods')).toBe('hwk');
    expect(h.logs.some((l) => l.event === 'reauthenticated')).toBe(true);
  });

  test('without user verification, with another user’s passkey, or a challenge of another session: refused, still stale', async () => {
    const { browser, authenticator } = await staleSession();
    const other = await staleSession();
    // Each try its own challenge: a refused finish has used its challenge up.
    const cases: Array<[unknown, string]> = [
      [
        authenticator.authenticate(await reauthOptions(h, browser), { userVerified: false }),
        'invalid_passkey',
      ],
      [
        other.authenticator.authenticate({ ...(await reauthOptions(h, browser)), allowCredentials: [] }),
        'invalid_passkey',
      ],
      [authenticator.authenticate(await reauthOptions(h, other.browser)), 'ceremony_expired'],
    ];
    for (const [response, error] of cases) {
      const res = await h.fetch('/api/reauth/passkey', asBrowser(browser, { json: { response } }));
      expect(res.status, error).toBe(401);
      expect(await jsonOf(res)).toMatchObject({ error });
    }
    expect((await h.fetch('/api/account/passkeys/options', asBrowser(browser))).status).toBe(403);
  });

  test('a user without passkeys: options are 409 conflict', async () => {
    await h.createUser('nopasskey');
    const browser = await signInPassword(h, 'nopasskey');
    const res = await h.fetch('/api/reauth/passkey/options', asBrowser(browser));
    expect(res.status).toBe(409);
  });

  test('needs the session’s CSRF token', async () => {
    const { browser } = await staleSession();
    const res = await h.fetch('/api/reauth/passkey/options', { method: 'POST', jar: browser.jar });
    expect(res.status).toBe(403);
    expect(await jsonOf(res)).toMatchObject({ error: 'csrf' });
  });
});
