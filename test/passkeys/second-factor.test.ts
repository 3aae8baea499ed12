import { afterEach, describe, expect, test } from 'vitest';
import { completeSignIn, lockUser } from '../../packages/cloakroom/src/auth/accounts/index.js';
import type { IncomingRequest } from '../../packages/cloakroom/src/core/request.js';
import {
  beginPasskeySecondFactor,
  finishPasskeySecondFactor,
} from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS, instance } from '../auth/second-factor-harness.js';
import { incoming } from '../support/core.js';
import type { RequestOptionsJSON } from '../support/soft-authenticator.js';
import { type PasskeyHarness, passkeyHarness, withRelyingParty } from './harness.js';

/*
 * A passkey as the second step after a password: a user with only passkeys gets the pending
 * state from signIn, never a session; the passkey turns it into one session (pwd + hwk), once,
 * whichever factor or instance tries to finish it again.
 */

describe.each(BACKENDS)('passkey as a second factor on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  /** The password step of a user with a passkey: the request carrying its pending cookie. */
  async function passwordStep(username: string): Promise<IncomingRequest> {
    const first = await h.passwordStep(username);
    if (first.ok || first.error !== 'second_factor')
      throw new Error(`expected second_factor, got ${first.ok}`);
    return h.withPending(first.setCookie);
  }

  test('a user with only a passkey gets a pending state from the password, and no session', async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    await h.sessions.revokeUser(user.id);
    const first = await h.passwordStep('alice');
    expect(first).toMatchObject({
      ok: false,
      error: 'second_factor',
      user: { id: user.id, secondFactor: true },
    });
    expect(await h.stores.sessions.listByUser(user.id, h.clock.now())).toEqual([]);
  });

  test('the passkey finishes it: methods pwd + hwk, pending cookie cleared, audited with method passkey', async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    const request = await passwordStep('alice');
    const begun = await beginPasskeySecondFactor(h.deps, request);
    if (!begun.ok) throw new Error(begun.error);
    expect(begun.options).toMatchObject({
      rpId: 'localhost',
      userVerification: 'preferred',
      allowCredentials: [
        { id: h.authenticator.credentials[0]!.id, transports: ['internal'], type: 'public-key' },
      ],
    });
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON, {
      userVerified: false,
    });
    const done = await finishPasskeySecondFactor(h.deps, request, { response });
    if (!done.ok) throw new Error(done.error);
    expect(done.user).toMatchObject({ id: user.id, secondFactor: true });
    expect(done.issued.session.methods).toEqual(['pwd', 'hwk']);
    expect(done.issued.setCookie.some((c) => /^cloakroom-pending=;.*Max-Age=0/.test(c))).toBe(true);
    expect(h.events.filter((e) => e.event === 'login.second-factor')).toMatchObject([
      { userId: user.id, method: 'passkey', passkey: response.id, session: done.issued.session.id },
    ]);
  });

  test('one pending state, one session: a second passkey finish, a recovery code or another instance after it get pending_expired', async () => {
    h = passkeyHarness(backend);
    const { recoveryCodes } = await h.withPasskey('alice');
    const request = await passwordStep('alice');
    const a = await beginPasskeySecondFactor(h.deps, request);
    const b = await beginPasskeySecondFactor(h.deps, request);
    if (!a.ok || !b.ok) throw new Error('begin');
    const first = await finishPasskeySecondFactor(h.deps, request, {
      response: h.authenticator.authenticate(a.options as RequestOptionsJSON),
    });
    expect(first.ok).toBe(true);
    // Another challenge of the same pending state, properly signed: the state is used.
    expect(
      await finishPasskeySecondFactor(h.deps, request, {
        response: h.authenticator.authenticate(b.options as RequestOptionsJSON),
      }),
    ).toMatchObject({ error: 'pending_expired' });
    expect(await beginPasskeySecondFactor(h.deps, request)).toMatchObject({ error: 'pending_expired' });
    expect(await completeSignIn(h.deps, request, { recoveryCode: recoveryCodes[0] })).toMatchObject({
      error: 'pending_expired',
    });
    const reopened = h.stores.reopen();
    const other = withRelyingParty(instance(reopened, h.clock), reopened.counters);
    expect(await beginPasskeySecondFactor(other.deps, request)).toMatchObject({ error: 'pending_expired' });
  });

  test('a passkey-only user may finish with a recovery code instead', async () => {
    h = passkeyHarness(backend);
    const { recoveryCodes } = await h.withPasskey('alice');
    const request = await passwordStep('alice');
    const done = await completeSignIn(h.deps, request, { recoveryCode: recoveryCodes[3] });
    if (!done.ok) throw new Error(done.error);
    expect(done).toMatchObject({ usedRecoveryCode: true, recoveryCodesLeft: 9 });
    // A TOTP code is wrong for a user without TOTP (and counts as a wrong code).
    const again = await passwordStep('alice');
    expect(await completeSignIn(h.deps, again, { code: '123456' })).toMatchObject({ error: 'invalid_code' });
  });

  test('without a pending state, for a user without passkeys, or after a lock: refused', async () => {
    h = passkeyHarness(backend);
    expect(await beginPasskeySecondFactor(h.deps, incoming({ method: 'POST' }))).toMatchObject({
      error: 'pending_expired',
    });
    const totpOnly = await h.enrol('bob');
    expect(await beginPasskeySecondFactor(h.deps, h.pendingFor(totpOnly.user))).toMatchObject({
      error: 'not_enrolled',
    });
    const { user } = await h.withPasskey('alice');
    const request = await passwordStep('alice');
    const begun = await beginPasskeySecondFactor(h.deps, request);
    if (!begun.ok) throw new Error(begun.error);
    await lockUser(h.deps, user.id, 'test');
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON);
    expect(await finishPasskeySecondFactor(h.deps, request, { response })).toMatchObject({
      error: 'pending_expired',
    });
    expect(await beginPasskeySecondFactor(h.deps, request)).toMatchObject({ error: 'pending_expired' });
  });

  test("another user's passkey does not finish alice's pending state", async () => {
    h = passkeyHarness(backend);
    await h.withPasskey('alice');
    await h.withPasskey('bob');
    const request = await passwordStep('alice');
    const begun = await beginPasskeySecondFactor(h.deps, request);
    if (!begun.ok) throw new Error(begun.error);
    const bobs = h.authenticator.credentials[1]!.id;
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON, {
      credentialId: bobs,
    });
    expect(await finishPasskeySecondFactor(h.deps, request, { response })).toMatchObject({
      error: 'invalid_passkey',
    });
  });
});
