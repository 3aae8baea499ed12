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
import { passwordStep, signInPassword } from '../support/second-factor-api.js';
import { jsonOf, type ServerHarness, startHarness } from '../support/server.js';
import { createSoftAuthenticator, type SoftAuthenticator } from '../support/soft-authenticator.js';

// A challenge is used once: a recorded response sent again is refused, and of 20 finishes of one
// response sent at the same moment exactly one succeeds — at every ceremony.

let h: ServerHarness;
beforeAll(async () => {
  h = await startHarness({ env: PASSKEY_ENV });
});
afterAll(() => h.close());

let n = 0;
async function withPasskey(): Promise<{ name: string; authenticator: SoftAuthenticator }> {
  const name = `replay${n++}`;
  await h.createUser(name);
  const authenticator = createSoftAuthenticator(PUBLIC_URL);
  await registerPasskey(h, await signInPassword(h, name), authenticator);
  return { name, authenticator };
}

const statuses = (responses: Response[]) => responses.map((r) => r.status).sort();

describe('replay', () => {
  test('passwordless sign-in: the same response again is 401 ceremony_expired', async () => {
    const { authenticator } = await withPasskey();
    const { jar, options } = await signInOptions(h);
    const response = authenticator.authenticate(options);
    const cookie = jar.header()!;
    const first = await h.fetch('/api/login/passkey', { json: { response }, cookie });
    expect(first.status).toBe(200);
    const again = await h.fetch('/api/login/passkey', { json: { response }, cookie });
    expect(again.status).toBe(401);
    expect(await jsonOf(again)).toMatchObject({ error: 'ceremony_expired' });
  });

  test('registration: the same response again is 400 ceremony_expired, one passkey stored', async () => {
    await h.createUser('replay-reg');
    const browser = await signInPassword(h, 'replay-reg');
    const response = createSoftAuthenticator(PUBLIC_URL).register(await registrationOptions(h, browser));
    expect((await h.fetch('/api/account/passkeys', asBrowser(browser, { json: { response } }))).status).toBe(
      201,
    );
    const again = await h.fetch('/api/account/passkeys', asBrowser(browser, { json: { response } }));
    expect(again.status).toBe(400);
    expect(await jsonOf(again)).toMatchObject({ error: 'ceremony_expired' });
  });
});

describe('20 finishes of one response at once: exactly one succeeds', () => {
  test('passwordless sign-in: one 200 and one session, nineteen 401', async () => {
    const { name, authenticator } = await withPasskey();
    const { jar, options } = await signInOptions(h);
    const response = authenticator.authenticate(options);
    const cookie = jar.header()!;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => h.fetch('/api/login/passkey', { json: { response }, cookie })),
    );
    expect(statuses(results)).toEqual([200, ...Array(19).fill(401)]);
    const record = await h.deps.users.getByUsername(name);
    expect(h.logs.filter((l) => l.event === 'login.passkey' && l.userId === record!.id)).toHaveLength(1);
  });

  test('second factor: one 200, nineteen 401', async () => {
    const { name, authenticator } = await withPasskey();
    const first = await passwordStep(h, name);
    const response = authenticator.authenticate(await secondFactorOptions(h, first.jar));
    const cookie = first.jar.header()!;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        h.fetch('/api/login/second-factor/passkey', { json: { response }, cookie }),
      ),
    );
    expect(statuses(results)).toEqual([200, ...Array(19).fill(401)]);
  });

  test('re-authentication: one 200, nineteen 401', async () => {
    const { authenticator } = await withPasskey();
    const browser = await signInWithPasskey(h, authenticator);
    const response = authenticator.authenticate(await reauthOptions(h, browser));
    const cookie = browser.jar.header()!;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        h.fetch('/api/reauth/passkey', { json: { response }, cookie, csrf: browser.csrf }),
      ),
    );
    expect(statuses(results)).toEqual([200, ...Array(19).fill(401)]);
  });

  test('registration: one 201 and one passkey stored, nineteen 400', async () => {
    await h.createUser('parallel-reg');
    const browser = await signInPassword(h, 'parallel-reg');
    const response = createSoftAuthenticator(PUBLIC_URL).register(await registrationOptions(h, browser));
    const cookie = browser.jar.header()!;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        h.fetch('/api/account/passkeys', { json: { response }, cookie, csrf: browser.csrf }),
      ),
    );
    expect(statuses(results)).toEqual([201, ...Array(19).fill(400)]);
    const list = await jsonOf<{ passkeys: unknown[] }>(await h.fetch('/api/account/passkeys', { cookie }));
    expect(list.passkeys).toHaveLength(1);
  });
});
