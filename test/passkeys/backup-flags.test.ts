import { afterEach, describe, expect, test } from 'vitest';
import {
  beginPasskeySignIn,
  finishPasskeySignIn,
  listPasskeys,
} from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS } from '../auth/second-factor-harness.js';
import type { AuthenticateOptions, RequestOptionsJSON } from '../support/soft-authenticator.js';
import { type PasskeyHarness, passkeyHarness } from './harness.js';

/*
 * The BE flag (backup eligible) is fixed when a credential is made: an assertion that reports
 * another value is not from that credential, and is refused. The BS flag (backed up) may change
 * and is stored as last seen.
 */

describe.each(BACKENDS)('backup flags on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  async function signIn(opts: AuthenticateOptions = {}) {
    const begun = await beginPasskeySignIn(h.deps, h.post());
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON, opts);
    return finishPasskeySignIn(h.deps, h.withCookies(begun.setCookie), { response });
  }

  test('a synced passkey that says it is no longer backup eligible is refused', async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    expect(await signIn({ backupEligible: false })).toMatchObject({ error: 'invalid_passkey' });
    expect((await listPasskeys(h.deps, user.id))[0]).toMatchObject({
      deviceType: 'multiDevice',
      lastUsedAt: null,
    });
  });

  test('a device-bound passkey that says it became backup eligible is refused', async () => {
    h = passkeyHarness(backend);
    const { session } = await h.signedInUser('alice');
    await h.register(session, { backupEligible: false });
    expect(await signIn({ backupEligible: true })).toMatchObject({ error: 'invalid_passkey' });
    // Backed up without being eligible: impossible flags.
    expect(await signIn({ backedUp: true })).toMatchObject({ error: 'invalid_passkey' });
    expect((await signIn()).ok).toBe(true);
  });

  test('the backed-up state may change, and is stored as last seen', async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    expect((await listPasskeys(h.deps, user.id))[0]!.backedUp).toBe(false);
    expect((await signIn({ backedUp: true })).ok).toBe(true);
    expect((await listPasskeys(h.deps, user.id))[0]!.backedUp).toBe(true);
    expect((await signIn({ backedUp: false })).ok).toBe(true);
    expect((await listPasskeys(h.deps, user.id))[0]!.backedUp).toBe(false);
  });
});
