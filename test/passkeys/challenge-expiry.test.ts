import { afterEach, describe, expect, test } from 'vitest';
import {
  beginPasskeyRegistration,
  beginPasskeySignIn,
  finishPasskeyRegistration,
  finishPasskeySignIn,
} from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS } from '../auth/second-factor-harness.js';
import type { CreationOptionsJSON, RequestOptionsJSON } from '../support/soft-authenticator.js';
import { type PasskeyHarness, passkeyHarness } from './harness.js';

/*
 * A challenge lives `challengeTimeout` (default five minutes): a response that comes later is
 * refused, whatever it says. The clock is the one the counter store and the ceremony cookie read.
 */

describe.each(BACKENDS)('challenges expire on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  test('a sign-in answered five minutes later is refused; a millisecond earlier it works', async () => {
    h = passkeyHarness(backend);
    await h.withPasskey('alice');
    const late = await beginPasskeySignIn(h.deps, h.post());
    h.clock.advance(5 * 60_000);
    const lateResponse = h.authenticator.authenticate(late.options as RequestOptionsJSON);
    expect(
      await finishPasskeySignIn(h.deps, h.withCookies(late.setCookie), { response: lateResponse }),
    ).toMatchObject({
      error: 'ceremony_expired',
    });
    const onTime = await beginPasskeySignIn(h.deps, h.post());
    h.clock.advance(5 * 60_000 - 1);
    const response = h.authenticator.authenticate(onTime.options as RequestOptionsJSON);
    expect((await finishPasskeySignIn(h.deps, h.withCookies(onTime.setCookie), { response })).ok).toBe(true);
  });

  test('a registration answered after a shorter configured timeout is refused', async () => {
    h = passkeyHarness(backend, { passkeys: { challengeTimeout: '30s' } });
    const { session } = await h.signedInUser('alice');
    const begun = await beginPasskeyRegistration(h.deps, h.post(), session);
    if (!begun.ok) throw new Error(begun.error);
    expect(begun.options.timeout).toBe(30_000);
    const response = h.authenticator.register(begun.options as CreationOptionsJSON);
    h.clock.advance(30_000);
    expect(await finishPasskeyRegistration(h.deps, h.post(), session, { response })).toMatchObject({
      error: 'ceremony_expired',
    });
  });
});
