import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { manualClock } from '../../packages/cloakroom/src/core/clock.js';
import {
  asBrowser,
  listed,
  PASSKEY_ENV,
  PUBLIC_URL,
  reauthOptions,
  registerPasskey,
  registrationOptions,
} from '../support/passkeys-api.js';
import { signInPassword } from '../support/second-factor-api.js';
import { jsonOf, type ServerHarness, startHarness } from '../support/server.js';
import { createSoftAuthenticator } from '../support/soft-authenticator.js';

// Adding passkeys over the JSON API: register (recent sign-in needed), list, rename, remove,
// several per user, the first one's recovery codes, and what the user object says about them.

let h: ServerHarness;
const clock = manualClock(Date.now());
beforeAll(async () => {
  h = await startHarness({ env: PASSKEY_ENV, clock });
});
afterAll(() => h.close());

describe('register → list → rename → remove', () => {
  test('a user adds two passkeys, renames one, removes both; the list says so at each step', async () => {
    await h.createUser('pia');
    const browser = await signInPassword(h, 'pia');
    const phone = createSoftAuthenticator(PUBLIC_URL);
    const key = createSoftAuthenticator(PUBLIC_URL);
    expect(await listed(h, browser)).toEqual([]);

    const options = await registrationOptions(h, browser);
    expect(options).toMatchObject({
      rp: { id: 'localhost', name: 'cloakroom' },
      user: { name: 'pia' },
      attestation: 'none',
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      excludeCredentials: [],
    });
    // The user handle is the user id (UTF-8), never the username.
    const record = await h.deps.users.getByUsername('pia');
    expect(Buffer.from(options.user.id, 'base64url').toString('utf8')).toBe(record!.id);
    const first = await jsonOf<{ passkey: Record<string, unknown>; recoveryCodes: string[] | null }>(
      await h.fetch(
        '/api/account/passkeys',
        asBrowser(browser, { json: { response: phone.register(options), name: 'Phone' } }),
      ),
    );
    expect(first.passkey).toMatchObject({
      id: phone.credentials[0]!.id,
      name: 'Phone',
      lastUsedAt: null,
      backedUp: false,
      deviceType: 'multiDevice',
    });
    expect(first.passkey.createdAt).toBe(new Date(clock.now()).toISOString());
    // The account's first factor: ten recovery codes, shown once.
    expect(first.recoveryCodes).toHaveLength(10);
    expect(JSON.stringify(first)).not.toMatch(/publicKey|counter/);

    // The second: no new codes, the first one excluded from the options, a default name.
    const again = await registrationOptions(h, browser);
    expect(again.excludeCredentials?.map((c) => c.id)).toEqual([phone.credentials[0]!.id]);
    const second = await h.fetch(
      '/api/account/passkeys',
      asBrowser(browser, { json: { response: key.register(again, { backupEligible: false }) } }),
    );
    expect(second.status).toBe(201);
    expect(await jsonOf(second)).toMatchObject({
      passkey: { name: 'Passkey 2', deviceType: 'singleDevice' },
      recoveryCodes: null,
    });

    const list = await listed(h, browser);
    expect(list.map((p) => p.name)).toEqual(['Phone', 'Passkey 2']);
    const session = await jsonOf<{ user: { secondFactor: boolean } }>(
      await h.fetch('/api/session', { jar: browser.jar }),
    );
    expect(session.user.secondFactor).toBe(true);

    const renamed = await h.fetch(`/api/account/passkeys/${list[1]!.id}`, {
      method: 'PATCH',
      json: { name: '  YubiKey 5  ' },
      jar: browser.jar,
      csrf: browser.csrf,
    });
    expect(renamed.status).toBe(200);
    expect(await jsonOf(renamed)).toMatchObject({ passkey: { id: list[1]!.id, name: 'YubiKey 5' } });
    expect((await listed(h, browser)).map((p) => p.name)).toEqual(['Phone', 'YubiKey 5']);

    for (const passkey of list) {
      const removed = await h.fetch(`/api/account/passkeys/${passkey.id}`, {
        method: 'DELETE',
        jar: browser.jar,
        csrf: browser.csrf,
      });
      expect(removed.status).toBe(204);
    }
    expect(await listed(h, browser)).toEqual([]);
    // The last passkey of a user without TOTP takes the recovery codes with it.
    const status = await jsonOf(await h.fetch('/api/account/second-factor', { jar: browser.jar }));
    expect(status).toMatchObject({ enabled: false, recoveryCodesLeft: 0 });
    const after = await jsonOf<{ user: { secondFactor: boolean } }>(
      await h.fetch('/api/session', { jar: browser.jar }),
    );
    expect(after.user.secondFactor).toBe(false);

    const events = h.logs.filter((l) => l.event?.startsWith('passkey.')).map((l) => l.event);
    expect(events).toEqual([
      'passkey.registered',
      'passkey.registered',
      'passkey.renamed',
      'passkey.removed',
      'passkey.removed',
    ]);
  });
});

/** A new user, signed in with the password just now (so recently enough for every change). */
let n = 0;
async function freshUser() {
  const name = `user${n++}`;
  await h.createUser(name);
  return signInPassword(h, name);
}

describe('refusals', () => {
  test('without a recent sign-in: 403 reauth_required for options, finish and removal; a passkey re-auth lifts it', async () => {
    const browser = await freshUser();
    const authenticator = createSoftAuthenticator(PUBLIC_URL);
    await registerPasskey(h, browser, authenticator, { name: 'kept' });
    const stale = await registrationOptions(h, browser);
    clock.advance(11 * 60_000);
    const begin = await h.fetch('/api/account/passkeys/options', asBrowser(browser));
    expect(begin.status).toBe(403);
    expect(await jsonOf(begin)).toMatchObject({ error: 'reauth_required' });
    const finish = await h.fetch(
      '/api/account/passkeys',
      asBrowser(browser, { json: { response: createSoftAuthenticator(PUBLIC_URL).register(stale) } }),
    );
    expect(finish.status).toBe(403);
    expect(await jsonOf(finish)).toMatchObject({ error: 'reauth_required' });
    const id = authenticator.credentials[0]!.id;
    const remove = await h.fetch(`/api/account/passkeys/${id}`, {
      method: 'DELETE',
      jar: browser.jar,
      csrf: browser.csrf,
    });
    expect(remove.status).toBe(403);
    // Renaming is not sensitive: it needs no recent sign-in.
    const rename = await h.fetch(`/api/account/passkeys/${id}`, {
      method: 'PATCH',
      json: { name: 'renamed late' },
      jar: browser.jar,
      csrf: browser.csrf,
    });
    expect(rename.status).toBe(200);
    expect((await listed(h, browser)).map((p) => p.name)).toEqual(['renamed late']);
    // Confirming with the passkey makes the session recent again.
    const options = await reauthOptions(h, browser);
    const reauth = await h.fetch(
      '/api/reauth/passkey',
      asBrowser(browser, { json: { response: authenticator.authenticate(options) } }),
    );
    expect(reauth.status).toBe(200);
    browser.csrf = (await jsonOf<{ csrfToken: string }>(reauth)).csrfToken;
    expect((await h.fetch('/api/account/passkeys/options', asBrowser(browser))).status).toBe(200);
  });

  test('a bad name: 400 bad_request, and the challenge is still there for a good one', async () => {
    const browser = await freshUser();
    const authenticator = createSoftAuthenticator(PUBLIC_URL);
    const options = await registrationOptions(h, browser);
    const response = authenticator.register(options);
    for (const name of ['x'.repeat(65), '   ', 'a\u202eb', 42]) {
      const res = await h.fetch('/api/account/passkeys', asBrowser(browser, { json: { response, name } }));
      expect(res.status, String(name)).toBe(400);
      expect(await jsonOf(res)).toMatchObject({ error: 'bad_request' });
    }
    const ok = await h.fetch(
      '/api/account/passkeys',
      asBrowser(browser, { json: { response, name: 'fine' } }),
    );
    expect(ok.status).toBe(201);
  });

  test('the same authenticator twice: 400 invalid_passkey, one passkey kept', async () => {
    const browser = await freshUser();
    const authenticator = createSoftAuthenticator(PUBLIC_URL);
    await registerPasskey(h, browser, authenticator);
    const before = (await listed(h, browser)).length;
    const options = await registrationOptions(h, browser);
    // An authenticator that ignores excludeCredentials and answers with the same credential id.
    const response = createSoftAuthenticator(PUBLIC_URL).register(options);
    const duplicate = {
      ...response,
      id: authenticator.credentials[0]!.id,
      rawId: authenticator.credentials[0]!.id,
    };
    const res = await h.fetch('/api/account/passkeys', asBrowser(browser, { json: { response: duplicate } }));
    expect(res.status).toBe(400);
    expect(await jsonOf(res)).toMatchObject({ error: 'invalid_passkey' });
    expect(await listed(h, browser)).toHaveLength(before);
  });

  test('a registration begun by another session (of another user): 400 ceremony_expired', async () => {
    const browser = await freshUser();
    const other = await freshUser();
    const options = await registrationOptions(h, other);
    const response = createSoftAuthenticator(PUBLIC_URL).register(options);
    const res = await h.fetch('/api/account/passkeys', asBrowser(browser, { json: { response } }));
    expect(res.status).toBe(400);
    expect(await jsonOf(res)).toMatchObject({ error: 'ceremony_expired' });
    // The session it was issued to can still use it.
    expect((await h.fetch('/api/account/passkeys', asBrowser(other, { json: { response } }))).status).toBe(
      201,
    );
  });

  test('unsafe passkey routes need the CSRF token; signed out they need a session', async () => {
    const browser = await freshUser();
    const noToken = await h.fetch('/api/account/passkeys/options', { method: 'POST', jar: browser.jar });
    expect(noToken.status).toBe(403);
    expect(await jsonOf(noToken)).toMatchObject({ error: 'csrf' });
    for (const [method, path] of [
      ['GET', '/api/account/passkeys'],
      ['POST', '/api/account/passkeys/options'],
      ['POST', '/api/account/passkeys'],
      ['PATCH', '/api/account/passkeys/abc'],
      ['DELETE', '/api/account/passkeys/abc'],
      ['POST', '/api/reauth/passkey/options'],
      ['POST', '/api/reauth/passkey'],
    ] as const) {
      const res = await h.fetch(path, {
        method,
        ...(method === 'GET' || method === 'DELETE' ? {} : { json: {} }),
      });
      expect(res.status, `${method} ${path}`).toBe(401);
    }
  });

  test('rename or remove an id that is not one of the user’s: 404 not_found', async () => {
    const browser = await freshUser();
    const theirs = await freshUser();
    const authenticator = createSoftAuthenticator(PUBLIC_URL);
    const { passkey } = await registerPasskey(h, theirs, authenticator);
    for (const id of [passkey.id, 'AAAA', 'a%00b', 'x'.repeat(1400)]) {
      const rename = await h.fetch(`/api/account/passkeys/${id}`, {
        method: 'PATCH',
        json: { name: 'mine now' },
        jar: browser.jar,
        csrf: browser.csrf,
      });
      expect(rename.status, id.slice(0, 20)).toBe(404);
      const remove = await h.fetch(`/api/account/passkeys/${id}`, {
        method: 'DELETE',
        jar: browser.jar,
        csrf: browser.csrf,
      });
      expect(remove.status, id.slice(0, 20)).toBe(404);
    }
    expect((await listed(h, theirs)).map((p) => p.name)).toEqual([passkey.name]);
  });

  test('at most 20 passkeys: the 21st begin is 400 bad_request', async () => {
    const many = await freshUser();
    for (let i = 0; i < 20; i++) await registerPasskey(h, many, createSoftAuthenticator(PUBLIC_URL));
    const res = await h.fetch('/api/account/passkeys/options', asBrowser(many));
    expect(res.status).toBe(400);
    expect(await jsonOf(res)).toMatchObject({ error: 'bad_request' });
  });
});
