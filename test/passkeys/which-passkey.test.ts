import { afterEach, describe, expect, test } from 'vitest';
import {
  beginPasskeyReauth,
  beginPasskeySecondFactor,
  beginPasskeySignIn,
  finishPasskeyReauth,
  finishPasskeySecondFactor,
  finishPasskeySignIn,
  listPasskeys,
  removePasskey,
} from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS } from '../auth/second-factor-harness.js';
import { createSoftAuthenticator, type RequestOptionsJSON } from '../support/soft-authenticator.js';
import { ORIGIN, type PasskeyHarness, passkeyHarness } from './harness.js';

/*
 * Each passkey of a user is checked against its own key and keeps its own counter and last use;
 * the user handle an authenticator sends must name the account it answers for; a sign-in is
 * remembered only when asked; every refusal is audited with its route.
 */

const handleOf = (userId: string) => Buffer.from(userId, 'utf8').toString('base64url');

describe.each(BACKENDS)('which passkey, whose account on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  test('a user with two passkeys signs in with the second: its key checks it, its counter and last use move', async () => {
    h = passkeyHarness(backend);
    const { user, session } = await h.withPasskey('alice');
    const laptop = createSoftAuthenticator(ORIGIN);
    await h.register(session, { authenticator: laptop, name: 'Laptop' });
    h.clock.advance(60_000);

    const begun = await beginPasskeySignIn(h.deps, h.post());
    const response = laptop.authenticate(begun.options as RequestOptionsJSON);
    const done = await finishPasskeySignIn(h.deps, h.withCookies(begun.setCookie), { response });
    expect(done.ok).toBe(true);
    const [first, second] = await listPasskeys(h.deps, user.id);
    expect(second).toMatchObject({ name: 'Laptop', lastUsedAt: h.clock.now() });
    expect(first!.lastUsedAt).toBeNull();

    // The second step and re-authentication check the one that answered, too.
    h.clock.advance(60_000);
    const reauth = await beginPasskeyReauth(h.deps, h.post(), session);
    if (!reauth.ok) throw new Error(reauth.error);
    const again = laptop.authenticate(reauth.options as RequestOptionsJSON);
    expect((await finishPasskeyReauth(h.deps, h.post(), session, { response: again })).ok).toBe(true);
    expect((await listPasskeys(h.deps, user.id))[1]!.lastUsedAt).toBe(h.clock.now());

    const pending = await h.passwordStep('alice');
    if (pending.ok || pending.error !== 'second_factor') throw new Error('expected second_factor');
    const request = h.withPending(pending.setCookie);
    const step = await beginPasskeySecondFactor(h.deps, request);
    if (!step.ok) throw new Error(step.error);
    const third = laptop.authenticate(step.options as RequestOptionsJSON);
    expect((await finishPasskeySecondFactor(h.deps, request, { response: third })).ok).toBe(true);
  });

  test('a sign-in is not remembered unless asked: a browser-session cookie', async () => {
    h = passkeyHarness(backend);
    await h.withPasskey('alice');
    const begun = await beginPasskeySignIn(h.deps, h.post());
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON);
    const done = await finishPasskeySignIn(h.deps, h.withCookies(begun.setCookie), { response });
    if (!done.ok) throw new Error(done.error);
    expect(done.issued.session.remember).toBe(false);
    expect(done.issued.setCookie[0]).not.toMatch(/Max-Age/i);
  });

  test("the user's own passkey sending a handle that names another user: refused on re-authentication and as the second step", async () => {
    h = passkeyHarness(backend);
    const { session } = await h.withPasskey('alice');
    const bob = await h.withPasskey('bob');
    const alices = h.authenticator.credentials[0]!.id;

    const reauth = await beginPasskeyReauth(h.deps, h.post(), session);
    if (!reauth.ok) throw new Error(reauth.error);
    const response = h.authenticator.authenticate(reauth.options as RequestOptionsJSON, {
      credentialId: alices,
      userHandle: handleOf(bob.user.id),
    });
    expect(await finishPasskeyReauth(h.deps, h.post(), session, { response })).toMatchObject({
      error: 'invalid_passkey',
    });

    const pending = await h.passwordStep('alice');
    if (pending.ok || pending.error !== 'second_factor') throw new Error('expected second_factor');
    const request = h.withPending(pending.setCookie);
    const step = await beginPasskeySecondFactor(h.deps, request);
    if (!step.ok) throw new Error(step.error);
    const crossed = h.authenticator.authenticate(step.options as RequestOptionsJSON, {
      credentialId: alices,
      userHandle: handleOf(bob.user.id),
    });
    expect(await finishPasskeySecondFactor(h.deps, request, { response: crossed })).toMatchObject({
      error: 'invalid_passkey',
    });
    expect(h.events.filter((e) => e.event === 'passkey.failure')).toEqual([
      { event: 'passkey.failure', userId: expect.any(String), route: 'reauth', ip: '203.0.113.10' },
      { event: 'passkey.failure', userId: expect.any(String), route: 'second-factor', ip: '203.0.113.10' },
    ]);
  });

  test('a passwordless sign-in refused: audited with the route, the user it named and the address', async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    const begun = await beginPasskeySignIn(h.deps, h.post());
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON, {
      tamperSignature: true,
    });
    expect(await finishPasskeySignIn(h.deps, h.withCookies(begun.setCookie), { response })).toMatchObject({
      error: 'invalid_passkey',
    });
    expect(h.events.filter((e) => e.event === 'passkey.failure')).toEqual([
      { event: 'passkey.failure', userId: user.id, route: 'signin', ip: '203.0.113.10' },
    ]);
  });

  // Read 1 of the user is the epoch's, 2 finds the passkey, 3 is the compare-and-set's.
  test('a passkey removed while its assertion is checked signs nobody in, and is no clone', async () => {
    h = passkeyHarness(backend);
    const { user, session } = await h.withPasskey('alice');
    const id = h.authenticator.credentials[0]!.id;
    const begun = await beginPasskeySignIn(h.deps, h.post());
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON);
    const users = h.deps.users;
    let reads = 0;
    h.deps.users = Object.create(users, {
      getById: {
        value: async (userId: string) => {
          reads += 1;
          if (reads === 3) {
            const removed = await removePasskey({ ...h.deps, users }, session, id);
            if (!removed.ok) throw new Error(removed.error);
          }
          return users.getById(userId);
        },
      },
    });
    expect(await finishPasskeySignIn(h.deps, h.withCookies(begun.setCookie), { response })).toMatchObject({
      error: 'invalid_passkey',
    });
    const sessions = await h.stores.sessions.listByUser(user.id, h.clock.now());
    expect(sessions.filter((s) => s.methods?.includes('hwk'))).toEqual([]);
    expect(
      h.events.map((e) => e.event).filter((e) => e.startsWith('passkey.') || e === 'login.passkey'),
    ).toEqual(['passkey.registered', 'passkey.removed', 'passkey.failure']);
  });
});
