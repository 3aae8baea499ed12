import { afterEach, describe, expect, test } from 'vitest';
import {
  beginPasskeyRegistration,
  beginPasskeySecondFactor,
  beginPasskeySignIn,
  finishPasskeyRegistration,
  finishPasskeySecondFactor,
  finishPasskeySignIn,
} from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS } from '../auth/second-factor-harness.js';
import type { CreationOptionsJSON, RequestOptionsJSON } from '../support/soft-authenticator.js';
import { type PasskeyHarness, passkeyHarness } from './harness.js';

/*
 * A passkey alone is two factors only with user verification (PIN, biometrics): registration and
 * passwordless sign-in require the UV flag (re-authentication too: reauth.test.ts). After a
 * password it is only preferred. User presence is required everywhere.
 */

describe.each(BACKENDS)('user verification on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  test('a registration without UV is refused', async () => {
    h = passkeyHarness(backend);
    const { session } = await h.signedInUser('alice');
    const begun = await beginPasskeyRegistration(h.deps, h.post(), session);
    if (!begun.ok) throw new Error(begun.error);
    const response = h.authenticator.register(begun.options as CreationOptionsJSON, { userVerified: false });
    expect(await finishPasskeyRegistration(h.deps, h.post(), session, { response })).toMatchObject({
      error: 'invalid_passkey',
    });
  });

  test('a passwordless sign-in without UV, or without UP, is refused', async () => {
    h = passkeyHarness(backend);
    await h.withPasskey('alice');
    for (const flags of [{ userVerified: false }, { userPresent: false }]) {
      const begun = await beginPasskeySignIn(h.deps, h.post());
      const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON, flags);
      expect(await finishPasskeySignIn(h.deps, h.withCookies(begun.setCookie), { response })).toMatchObject({
        error: 'invalid_passkey',
      });
    }
  });

  test('after a password, no UV is enough; no UP is not', async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    const absent = h.pendingFor(user);
    const begun = await beginPasskeySecondFactor(h.deps, absent);
    if (!begun.ok) throw new Error(begun.error);
    const noPresence = h.authenticator.authenticate(begun.options as RequestOptionsJSON, {
      userPresent: false,
    });
    expect(await finishPasskeySecondFactor(h.deps, absent, { response: noPresence })).toMatchObject({
      error: 'invalid_passkey',
    });
    const pending = h.pendingFor(user);
    const again = await beginPasskeySecondFactor(h.deps, pending);
    if (!again.ok) throw new Error(again.error);
    const response = h.authenticator.authenticate(again.options as RequestOptionsJSON, {
      userVerified: false,
    });
    expect((await finishPasskeySecondFactor(h.deps, pending, { response })).ok).toBe(true);
  });
});
