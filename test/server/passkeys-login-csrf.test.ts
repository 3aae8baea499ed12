import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  PASSKEY_ENV,
  PUBLIC_URL,
  registerPasskey,
  secondFactorOptions,
  signInOptions,
} from '../support/passkeys-api.js';
import { passwordStep, signInPassword } from '../support/second-factor-api.js';
import { CookieJar, jsonOf, type ServerHarness, startHarness } from '../support/server.js';
import { createSoftAuthenticator } from '../support/soft-authenticator.js';

// The passkey sign-in steps act without a session, so login CSRF guards them like /api/login: a
// request that says it comes from another site is refused before anything is issued or checked
// (no ceremony cookie, no challenge used, no session), counted and audited; a same-origin
// browser and a client without Origin (curl) go through; a form needs the login token.

let h: ServerHarness;
let name: string;
let authenticator: ReturnType<typeof createSoftAuthenticator>;
beforeAll(async () => {
  h = await startHarness({ env: PASSKEY_ENV });
  name = 'csrf-user';
  await h.createUser(name);
  authenticator = createSoftAuthenticator(PUBLIC_URL);
  await registerPasskey(h, await signInPassword(h, name), authenticator);
});
afterAll(() => h.close());

const FOREIGN: Array<[string, Record<string, string>]> = [
  ['Origin of another site', { origin: 'http://evil.example' }],
  ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
  ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }],
  ['Origin: null', { origin: 'null' }],
];

describe('cross-site requests to the passkey login routes: 403 csrf', () => {
  for (const [label, headers] of FOREIGN) {
    test(`${label}: options set no ceremony cookie; a finish uses nothing up and signs nobody in`, async () => {
      const before = h.logs.filter((l) => l.event === 'csrf.refused').length;
      const options = await h.fetch('/api/login/passkey/options', { method: 'POST', headers });
      expect(options.status).toBe(403);
      expect(await jsonOf(options)).toMatchObject({ error: 'csrf' });
      expect(options.headers.getSetCookie()).toEqual([]);

      const begun = await signInOptions(h);
      const response = authenticator.authenticate(begun.options);
      const finish = await h.fetch('/api/login/passkey', { json: { response }, jar: begun.jar, headers });
      expect(finish.status).toBe(403);
      expect(await jsonOf(finish)).toMatchObject({ error: 'csrf' });
      expect(finish.headers.getSetCookie()).toEqual([]);

      const first = await passwordStep(h, name);
      const sfOptions = await h.fetch('/api/login/second-factor/passkey/options', {
        method: 'POST',
        jar: first.jar,
        headers,
      });
      expect(sfOptions.status).toBe(403);
      const sfResponse = authenticator.authenticate(await secondFactorOptions(h, first.jar));
      const sfFinish = await h.fetch('/api/login/second-factor/passkey', {
        json: { response: sfResponse },
        jar: first.jar,
        headers,
      });
      expect(sfFinish.status).toBe(403);

      // Refused before anything was used: the same responses still finish from the right place.
      expect((await h.fetch('/api/login/passkey', { json: { response }, jar: begun.jar })).status).toBe(200);
      expect(
        (
          await h.fetch('/api/login/second-factor/passkey', {
            json: { response: sfResponse },
            jar: first.jar,
          })
        ).status,
      ).toBe(200);
      const refused = h.logs.filter((l) => l.event === 'csrf.refused').slice(before);
      expect(refused.map((l) => l.route)).toEqual([
        'login.passkey',
        'login.passkey',
        'login.second-factor',
        'login.second-factor',
      ]);
    });
  }
});

describe('what passes', () => {
  test('a same-origin browser (Origin and Sec-Fetch-Site of the server) signs in', async () => {
    const headers = { origin: h.origin, 'sec-fetch-site': 'same-origin' };
    const jar = new CookieJar();
    const options = await h.fetch('/api/login/passkey/options', { method: 'POST', jar, headers });
    expect(options.status).toBe(200);
    const { options: request } = await jsonOf<{ options: { challenge: string } }>(options);
    const finish = await h.fetch('/api/login/passkey', {
      json: { response: authenticator.authenticate(request) },
      jar,
      headers,
    });
    expect(finish.status).toBe(200);
  });

  test('a form-encoded options request needs the login token (403 without, 200 with)', async () => {
    const without = await h.fetch('/api/login/passkey/options', { form: { x: '1' } });
    expect(without.status).toBe(403);
    const { cookie, token } = h.loginFormToken();
    const withToken = await h.fetch('/api/login/passkey/options', { form: { _csrf: token }, cookie });
    expect(withToken.status).toBe(200);
  });

  test('a finish is JSON only: a form (even with the login token) is 400', async () => {
    const { cookie, token } = h.loginFormToken();
    const res = await h.fetch('/api/login/passkey', { form: { _csrf: token, response: '{}' }, cookie });
    expect(res.status).toBe(400);
    expect(await jsonOf(res)).toEqual({
      error: 'bad_request',
      message: 'Send the passkey response as application/json.',
    });
  });
});
