import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  asBrowser,
  PASSKEY_ENV,
  PUBLIC_URL,
  reauthOptions,
  registerPasskey,
  registrationOptions,
  secondFactorOptions,
  signInOptions,
  signInWithPasskey,
} from '../support/passkeys-api.js';
import { type Browser, passwordStep, signInPassword } from '../support/second-factor-api.js';
import type { CookieJar, HarnessInit } from '../support/server.js';
import { jsonOf, type ServerHarness, startHarness } from '../support/server.js';
import { createSoftAuthenticator, type SoftAuthenticator } from '../support/soft-authenticator.js';

// A finish body of the wrong shape is 400 bad_request and changes nothing: the challenge is not
// used up (the right response still finishes afterwards), no passkey.failure is audited, and no
// part of the response reaches the log, where it could be read back and replayed.

let h: ServerHarness;
let authenticator: SoftAuthenticator;
let name: string;
beforeAll(async () => {
  h = await startHarness({ env: PASSKEY_ENV });
  name = 'shapes';
  await h.createUser(name);
  authenticator = createSoftAuthenticator(PUBLIC_URL);
  await registerPasskey(h, await signInPassword(h, name), authenticator);
});
afterAll(() => h.close());

type Json = Record<string, unknown>;
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Bodies a finish must refuse with 400, made from a good one. */
function badBodies(good: Json, remember = false): Array<[string, unknown]> {
  const response = good.response as Json & { response: Json };
  const inner = (patch: Json) => ({
    ...good,
    response: { ...response, response: { ...response.response, ...patch } },
  });
  const outer = (patch: Json) => ({ ...good, response: { ...response, ...patch } });
  const cases: Array<[string, unknown]> = [
    ['no response', { ...good, response: undefined }],
    ['response a string', { ...good, response: JSON.stringify(response) }],
    ['response an array', { ...good, response: [response] }],
    ['response null', { ...good, response: null }],
    ['id missing', outer({ id: undefined })],
    ['id not base64url', outer({ id: 'a+b/c=', rawId: 'a+b/c=' })],
    ['id too long', outer({ id: 'A'.repeat(1365), rawId: 'A'.repeat(1365) })],
    ['rawId differs from id', outer({ rawId: 'AAAA' })],
    ['type not public-key', outer({ type: 'password' })],
    ['inner response missing', outer({ response: undefined })],
    ['inner response a string', outer({ response: 'x' })],
    ['clientDataJSON missing', inner({ clientDataJSON: undefined })],
    ['clientDataJSON a number', inner({ clientDataJSON: 42 })],
    [
      'clientDataJSON padded base64',
      inner({ clientDataJSON: `${response.response.clientDataJSON as string}=` }),
    ],
    ['clientDataJSON not JSON', inner({ clientDataJSON: Buffer.from('not json').toString('base64url') })],
    [
      'clientDataJSON without a challenge',
      inner({ clientDataJSON: Buffer.from('{"type":"webauthn.get"}').toString('base64url') }),
    ],
    ['clientDataJSON over 4,096 characters', inner({ clientDataJSON: 'A'.repeat(4097) })],
  ];
  if ('attestationObject' in response.response) {
    cases.push(
      ['attestationObject missing', inner({ attestationObject: undefined })],
      ['attestationObject over 8,192 characters', inner({ attestationObject: 'A'.repeat(8193) })],
      ['transports not a list', inner({ transports: 'usb' })],
      ['transports with a number', inner({ transports: [1] })],
    );
  } else {
    cases.push(
      ['authenticatorData missing', inner({ authenticatorData: undefined })],
      ['signature missing', inner({ signature: undefined })],
      ['signature with spaces', inner({ signature: 'ab cd' })],
      ['userHandle a number', inner({ userHandle: 7 })],
      ['userHandle over 86 characters', inner({ userHandle: 'A'.repeat(87) })],
    );
  }
  if (remember) cases.push(['remember a string', { ...good, remember: 'yes' }]);
  return cases;
}

/** Sends every bad body, then the good one: 400 each, then success, and nothing audited or logged. */
async function expectShapesRefused(
  path: string,
  good: Json,
  init: HarnessInit,
  success: number,
  remember = false,
) {
  const failuresBefore = h.logs.filter((l) => l.event === 'passkey.failure').length;
  for (const [label, body] of badBodies(good, remember)) {
    const res = await h.fetch(path, { ...init, json: body });
    expect(res.status, label).toBe(400);
    expect(await jsonOf(res), label).toMatchObject({ error: 'bad_request' });
  }
  for (const [label, raw] of [
    ['not JSON', '{"response":'],
    ['a JSON array', '[]'],
    ['a repeated key', JSON.stringify(good).replace(/^\{/, '{"response":null,')],
  ] as const) {
    const res = await h.fetch(path, { ...init, body: raw, headers: { 'content-type': 'application/json' } });
    expect(res.status, label).toBe(400);
  }
  const text = h.logText();
  const response = (good.response as { response: Record<string, string> }).response;
  for (const field of ['clientDataJSON', 'signature', 'attestationObject', 'authenticatorData']) {
    if (response[field]) expect(text, field).not.toContain(response[field]!.slice(0, 40));
  }
  expect(h.logs.filter((l) => l.event === 'passkey.failure')).toHaveLength(failuresBefore);
  const ok = await h.fetch(path, { ...init, json: good });
  expect(ok.status, await ok.clone().text()).toBe(success);
}

describe('a finish of the wrong shape: 400, and the challenge is still good', () => {
  test('passwordless sign-in', async () => {
    const { jar, options } = await signInOptions(h);
    await expectShapesRefused(
      '/api/login/passkey',
      { response: authenticator.authenticate(options) },
      { jar },
      200,
      true,
    );
  });

  test('second factor', async () => {
    const first = await passwordStep(h, name);
    const options = await secondFactorOptions(h, first.jar);
    await expectShapesRefused(
      '/api/login/second-factor/passkey',
      { response: authenticator.authenticate(options) },
      { jar: first.jar },
      200,
    );
  });

  test('re-authentication', async () => {
    const browser = await signInWithPasskey(h, authenticator);
    const options = await reauthOptions(h, browser);
    await expectShapesRefused(
      '/api/reauth/passkey',
      { response: authenticator.authenticate(options) },
      { jar: browser.jar, csrf: browser.csrf, method: 'POST' },
      200,
    );
  });

  test('registration', async () => {
    await h.createUser('shapes-reg');
    const browser: Browser = await signInPassword(h, 'shapes-reg');
    const options = await registrationOptions(h, browser);
    const good = { response: clone(createSoftAuthenticator(PUBLIC_URL).register(options)) };
    await expectShapesRefused('/api/account/passkeys', good, asBrowser(browser), 201);
  });
});

describe('other bodies', () => {
  test('a begin takes no body, or a JSON object; text/plain is 400', async () => {
    for (const init of [
      { method: 'POST' },
      { json: {} },
      { json: { ignored: true } },
    ] satisfies HarnessInit[]) {
      expect((await h.fetch('/api/login/passkey/options', init)).status).toBe(200);
    }
    const plain = await h.fetch('/api/login/passkey/options', {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(plain.status).toBe(400);
  });

  test('a rename without a usable name: 400', async () => {
    const browser = await signInWithPasskey(h, authenticator);
    const id = authenticator.credentials[0]!.id;
    for (const json of [{}, { name: 5 }, { name: '' }, { name: 'n'.repeat(65) }]) {
      const res = await h.fetch(`/api/account/passkeys/${id}`, {
        method: 'PATCH',
        json,
        jar: browser.jar as CookieJar,
        csrf: browser.csrf,
      });
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(await jsonOf(res)).toMatchObject({ error: 'bad_request' });
    }
  });
});
