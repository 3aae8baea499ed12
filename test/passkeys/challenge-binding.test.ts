import { afterEach, describe, expect, test } from 'vitest';
import {
  beginPasskeyReauth,
  beginPasskeyRegistration,
  beginPasskeySecondFactor,
  beginPasskeySignIn,
  finishPasskeyReauth,
  finishPasskeyRegistration,
  finishPasskeySecondFactor,
  finishPasskeySignIn,
} from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS } from '../auth/second-factor-harness.js';
import type { CreationOptionsJSON, RequestOptionsJSON } from '../support/soft-authenticator.js';
import { type PasskeyHarness, passkeyHarness } from './harness.js';

/*
 * A challenge finishes only what it was issued to: the session that began a registration or a
 * re-authentication, the pending state that began a second step, the browser (ceremony cookie)
 * that began a passwordless sign-in — and only the ceremony it was issued for. A refusal does
 * not use the challenge up for its rightful owner.
 */

describe.each(BACKENDS)('challenges are bound on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  test("a registration challenge of session A is refused for session B (even of the same user); A's finish still works", async () => {
    h = passkeyHarness(backend);
    const { user, session: a } = await h.signedInUser('alice');
    const b = await h.sessionFor(user);
    const begun = await beginPasskeyRegistration(h.deps, h.post(), a);
    if (!begun.ok) throw new Error(begun.error);
    const response = h.authenticator.register(begun.options as CreationOptionsJSON);
    expect(await finishPasskeyRegistration(h.deps, h.post(), b, { response })).toMatchObject({
      error: 'ceremony_expired',
    });
    expect((await finishPasskeyRegistration(h.deps, h.post(), a, { response })).ok).toBe(true);
  });

  test('a re-authentication challenge of session A is refused for session B', async () => {
    h = passkeyHarness(backend);
    const { user, session: a } = await h.withPasskey('alice');
    const b = await h.sessionFor(user);
    const begun = await beginPasskeyReauth(h.deps, h.post(), a);
    if (!begun.ok) throw new Error(begun.error);
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON);
    expect(await finishPasskeyReauth(h.deps, h.post(), b, { response })).toMatchObject({
      error: 'ceremony_expired',
    });
    expect((await finishPasskeyReauth(h.deps, h.post(), a, { response })).ok).toBe(true);
  });

  test('a sign-in challenge is refused without its ceremony cookie, or with another browser’s', async () => {
    h = passkeyHarness(backend);
    await h.withPasskey('alice');
    const mine = await beginPasskeySignIn(h.deps, h.post());
    const theirs = await beginPasskeySignIn(h.deps, h.post());
    const response = h.authenticator.authenticate(mine.options as RequestOptionsJSON);
    expect(await finishPasskeySignIn(h.deps, h.post(), { response })).toMatchObject({
      error: 'ceremony_expired',
    });
    expect(await finishPasskeySignIn(h.deps, h.withCookies(theirs.setCookie), { response })).toMatchObject({
      error: 'ceremony_expired',
    });
    expect((await finishPasskeySignIn(h.deps, h.withCookies(mine.setCookie), { response })).ok).toBe(true);
  });

  test('a second-step challenge of one pending state is refused for another', async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    const first = h.pendingFor(user);
    const second = h.pendingFor(user);
    const begun = await beginPasskeySecondFactor(h.deps, first);
    if (!begun.ok) throw new Error(begun.error);
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON);
    expect(await finishPasskeySecondFactor(h.deps, second, { response })).toMatchObject({
      error: 'ceremony_expired',
    });
    expect((await finishPasskeySecondFactor(h.deps, first, { response })).ok).toBe(true);
  });

  test("a session's registration challenge does not finish its re-authentication (same binding, other purpose)", async () => {
    h = passkeyHarness(backend);
    const { session } = await h.withPasskey('alice');
    const registration = await beginPasskeyRegistration(h.deps, h.post(), session);
    const reauth = await beginPasskeyReauth(h.deps, h.post(), session);
    if (!registration.ok || !reauth.ok) throw new Error('begin');
    // A real assertion whose clientDataJSON carries the registration's challenge.
    const response = h.authenticator.authenticate(reauth.options as RequestOptionsJSON, {
      challenge: registration.options.challenge,
    });
    expect(await finishPasskeyReauth(h.deps, h.post(), session, { response })).toMatchObject({
      error: 'ceremony_expired',
    });
  });

  test('a challenge issued for one ceremony does not finish another', async () => {
    h = passkeyHarness(backend);
    const { session } = await h.withPasskey('alice');
    // A re-authentication's challenge (bound to the session) offered to a sign-in of the same browser.
    const reauth = await beginPasskeyReauth(h.deps, h.post(), session);
    if (!reauth.ok) throw new Error(reauth.error);
    const signin = await beginPasskeySignIn(h.deps, h.post());
    const response = h.authenticator.authenticate(reauth.options as RequestOptionsJSON);
    expect(await finishPasskeySignIn(h.deps, h.withCookies(signin.setCookie), { response })).toMatchObject({
      error: 'ceremony_expired',
    });
    // And a sign-in's challenge offered to a re-authentication.
    const other = h.authenticator.authenticate(signin.options as RequestOptionsJSON);
    expect(await finishPasskeyReauth(h.deps, h.post(), session, { response: other })).toMatchObject({
      error: 'ceremony_expired',
    });
  });
});
