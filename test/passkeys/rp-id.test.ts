import { afterEach, describe, expect, test } from 'vitest';
import {
  beginPasskeyReauth,
  beginPasskeyRegistration,
  beginPasskeySignIn,
  finishPasskeyReauth,
  finishPasskeyRegistration,
  finishPasskeySignIn,
  listPasskeys,
} from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS } from '../auth/second-factor-harness.js';
import type { CreationOptionsJSON, RequestOptionsJSON } from '../support/soft-authenticator.js';
import { type PasskeyHarness, passkeyHarness } from './harness.js';

/*
 * The authenticator data starts with SHA-256 of the RP ID the credential is scoped to: a
 * credential of another relying party (another site's passkey) never signs in here.
 */

describe.each(BACKENDS)('the relying party ID on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  test('an assertion scoped to another RP ID is refused for sign-in and re-authentication', async () => {
    h = passkeyHarness(backend);
    const { session } = await h.withPasskey('alice');
    const begun = await beginPasskeySignIn(h.deps, h.post());
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON, {
      rpId: 'example.com',
    });
    expect(await finishPasskeySignIn(h.deps, h.withCookies(begun.setCookie), { response })).toMatchObject({
      error: 'invalid_passkey',
    });
    const reauth = await beginPasskeyReauth(h.deps, h.post(), session);
    if (!reauth.ok) throw new Error(reauth.error);
    const other = h.authenticator.authenticate(reauth.options as RequestOptionsJSON, {
      rpId: 'localhost.evil',
    });
    expect(await finishPasskeyReauth(h.deps, h.post(), session, { response: other })).toMatchObject({
      error: 'invalid_passkey',
    });
  });

  test('a registration scoped to another RP ID is refused', async () => {
    h = passkeyHarness(backend);
    const { user, session } = await h.signedInUser('alice');
    const begun = await beginPasskeyRegistration(h.deps, h.post(), session);
    if (!begun.ok) throw new Error(begun.error);
    const response = h.authenticator.register(begun.options as CreationOptionsJSON, { rpId: 'example.com' });
    expect(await finishPasskeyRegistration(h.deps, h.post(), session, { response })).toMatchObject({
      error: 'invalid_passkey',
    });
    expect(await listPasskeys(h.deps, user.id)).toEqual([]);
  });
});
