import { afterEach, describe, expect, test } from 'vitest';
import { lockUser } from '../../packages/cloakroom/src/auth/accounts/index.js';
import {
  type AuthenticationResponseJSON,
  beginPasskeySignIn,
  finishPasskeySignIn,
  listPasskeys,
} from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS } from '../auth/second-factor-harness.js';
import { createSoftAuthenticator, type RequestOptionsJSON } from '../support/soft-authenticator.js';
import { ORIGIN, type PasskeyHarness, passkeyHarness } from './harness.js';

/*
 * Passwordless sign-in: options that name no credential, a challenge bound to a ceremony cookie,
 * the user found by the handle the passkey carries, a session with methods `hwk` under the
 * epoch read before the assertion was checked. Every refusal about the person gets one answer.
 */

describe.each(BACKENDS)('passwordless sign-in on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  async function begin() {
    const begun = await beginPasskeySignIn(h.deps, h.post());
    return { ...begun, request: h.withCookies(begun.setCookie) };
  }

  test('options name no credential and require user verification; the ceremony cookie is HttpOnly', async () => {
    h = passkeyHarness(backend);
    const { options, setCookie } = await begin();
    expect(options).toMatchObject({ rpId: 'localhost', allowCredentials: [], userVerification: 'required' });
    expect(setCookie).toHaveLength(1);
    expect(setCookie[0]).toMatch(/^cloakroom-passkey=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=300$/);
  });

  test('a passkey signs its user in: methods hwk, the epoch as read, the counter and last use written', async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    h.clock.advance(60_000);
    const { options, request } = await begin();
    const response = h.authenticator.authenticate(options as RequestOptionsJSON);
    const done = await finishPasskeySignIn(h.deps, request, { response, remember: true });
    if (!done.ok) throw new Error(done.error);
    expect(done.user).toMatchObject({ id: user.id, username: 'alice', secondFactor: true });
    expect(done.issued.session).toMatchObject({
      userId: user.id,
      methods: ['hwk'],
      epoch: user.epoch,
      remember: true,
    });
    expect(done.issued.setCookie.some((c) => /^cloakroom-passkey=;.*Max-Age=0/.test(c))).toBe(true);
    expect((await h.sessions.validate(h.withCookies(done.issued.setCookie))).session?.userId).toBe(user.id);
    expect((await listPasskeys(h.deps, user.id))[0]!.lastUsedAt).toBe(h.clock.now());
    expect(h.events.filter((e) => e.event === 'login.passkey')).toEqual([
      {
        event: 'login.passkey',
        userId: user.id,
        session: done.issued.session.id,
        passkey: response.id,
        ip: '203.0.113.10',
        remember: true,
      },
    ]);
  });

  test('locked user, unknown passkey, unknown user, no user handle, bad signature: one answer', async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    const bob = await h.withPasskey('bob');
    const stranger = createSoftAuthenticator(ORIGIN);
    stranger.register({
      challenge: 'AAAA',
      rp: { id: 'localhost', name: 'x' },
      user: { id: Buffer.from(user.id).toString('base64url'), name: 'alice', displayName: 'alice' },
    });
    await lockUser(h.deps, bob.user.id, 'test');
    const aliceId = h.authenticator.credentials[0]!.id;
    const bobId = h.authenticator.credentials[1]!.id;
    const attempts: Array<(o: RequestOptionsJSON) => AuthenticationResponseJSON> = [
      (o) => h.authenticator.authenticate(o, { credentialId: bobId }),
      (o) => stranger.authenticate(o),
      (o) => h.authenticator.authenticate(o, { credentialId: aliceId, userHandle: 'bm9ib2R5' }),
      (o) => h.authenticator.authenticate(o, { credentialId: aliceId, userHandle: null }),
      (o) => h.authenticator.authenticate(o, { credentialId: aliceId, tamperSignature: true }),
    ];
    const answers = [];
    for (const attempt of attempts) {
      const { options, request } = await begin();
      answers.push(
        await finishPasskeySignIn(h.deps, request, { response: attempt(options as RequestOptionsJSON) }),
      );
    }
    for (const answer of answers) {
      expect(answer).toEqual({
        ok: false,
        error: 'invalid_passkey',
        message: 'That passkey could not be verified for this account.',
      });
    }
    expect(h.events.filter((e) => e.event === 'passkey.failure')).toHaveLength(attempts.length);
    expect(h.events.filter((e) => e.event === 'login.passkey')).toEqual([]);
    // Bob's sessions ended with the lock; none was made since.
    expect(await h.stores.sessions.listByUser(bob.user.id, h.clock.now())).toEqual([]);
  });

  // Read 1 is the epoch's; 2 finds the passkey; 3 is the compare-and-set's; 4 the look after the session.
  test.each([2, 3, 4])(
    'a password change landing before read %i of the user leaves no session',
    async (at) => {
      h = passkeyHarness(backend);
      const { user } = await h.withPasskey('alice');
      const { options, request } = await begin();
      const response = h.authenticator.authenticate(options as RequestOptionsJSON);
      // The epoch moves between the read before the check and the write after it.
      const getById = h.deps.users.getById.bind(h.deps.users);
      let reads = 0;
      h.deps.users = Object.create(h.deps.users, {
        getById: {
          value: async (id: string) => {
            reads += 1;
            if (reads === at) await h.stores.users.update(id, { advanceEpoch: true }, h.clock.now());
            return getById(id);
          },
        },
      });
      expect(await finishPasskeySignIn(h.deps, request, { response })).toMatchObject({
        error: 'invalid_passkey',
      });
      const sessions = await h.stores.sessions.listByUser(user.id, h.clock.now());
      expect(sessions.filter((s) => s.methods?.includes('hwk'))).toEqual([]);
      expect(h.events.filter((e) => e.event === 'login.passkey')).toEqual([]);
    },
  );

  test('remember must be a boolean', async () => {
    h = passkeyHarness(backend);
    await h.withPasskey('alice');
    const { options, request } = await begin();
    const response = h.authenticator.authenticate(options as RequestOptionsJSON);
    expect(await finishPasskeySignIn(h.deps, request, { response, remember: 'yes' })).toMatchObject({
      error: 'invalid',
      field: 'remember',
    });
  });
});
