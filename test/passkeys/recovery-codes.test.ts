import { afterEach, describe, expect, test } from 'vitest';
import {
  completeSignIn,
  disableSecondFactor,
  issueRecoveryLink,
  reauthenticate,
  regenerateRecoveryCodes,
  resetSecondFactor,
  secondFactorStatus,
  useRecoveryLink,
} from '../../packages/cloakroom/src/auth/accounts/index.js';
import { parseDocument } from '../../packages/cloakroom/src/auth/second-factor/document.js';
import { listPasskeys } from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS, NEW_PASSWORD, PASSWORD } from '../auth/second-factor-harness.js';
import { type PasskeyHarness, passkeyHarness } from './harness.js';

/*
 * Passkeys and the rest of the second factor: the first factor of an account brings ten
 * recovery codes, which then stand in for a passkey as they do for TOTP; turning TOTP off keeps
 * the passkeys; an admin's reset and a clearing recovery link take everything.
 */

describe.each(BACKENDS)('passkeys and recovery codes on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  const doc = async (userId: string) => parseDocument((await h.deps.users.getById(userId))!.secondFactor);

  test('the first passkey of an account without a factor brings ten codes; the second none', async () => {
    h = passkeyHarness(backend);
    const { user, session } = await h.signedInUser('alice');
    const first = await h.register(session);
    expect(first.recoveryCodes).toHaveLength(10);
    expect(new Set(first.recoveryCodes).size).toBe(10);
    const second = await h.register(session);
    expect(second.recoveryCodes).toBeNull();
    expect(secondFactorStatus((await h.deps.users.getById(user.id))!)).toEqual({
      enabled: false,
      recoveryCodesLeft: 10,
      enrolledAt: null,
      passkeys: 2,
    });
    // The codes shown are the ones stored: one of them finishes a password sign-in.
    const pending = await h.passwordStep('alice');
    if (pending.ok || pending.error !== 'second_factor') throw new Error('expected second_factor');
    const done = await completeSignIn(h.deps, h.withPending(pending.setCookie), {
      recoveryCode: first.recoveryCodes![4],
    });
    expect(done).toMatchObject({ ok: true, recoveryCodesLeft: 9 });
    // And a passkey-only account can have a new set made.
    expect(await regenerateRecoveryCodes(h.deps, session)).toMatchObject({ ok: true });
  });

  test('a TOTP user keeps their codes when adding a passkey', async () => {
    h = passkeyHarness(backend);
    const { user } = await h.enrol('bob');
    const before = (await doc(user.id)).recoveryCodes;
    const added = await h.register(await h.sessionFor(user));
    expect(added.recoveryCodes).toBeNull();
    expect((await doc(user.id)).recoveryCodes).toEqual(before);
  });

  test('re-authenticating by password: a passkey-only user must add a recovery code', async () => {
    h = passkeyHarness(backend);
    const { session, recoveryCodes } = await h.withPasskey('alice');
    expect(await reauthenticate(h.deps, h.post(), session, { password: PASSWORD })).toMatchObject({
      error: 'invalid_code',
    });
    const done = await reauthenticate(h.deps, h.post(), session, {
      password: PASSWORD,
      recoveryCode: recoveryCodes[0],
    });
    expect(done).toMatchObject({ ok: true, issued: { session: { methods: ['pwd', 'otp'] } } });
  });

  test('turning TOTP off keeps the passkeys and the codes; with no passkey the codes go too', async () => {
    h = passkeyHarness(backend);
    const { user, key } = await h.enrol('bob');
    const fresh = await h.sessionFor(user);
    await h.register(fresh);
    const off = await disableSecondFactor(h.deps, h.post(), fresh, { code: h.code(key) });
    expect(off.ok).toBe(true);
    expect(await doc(user.id)).toMatchObject({ totp: null, passkeys: [{}] });
    expect((await doc(user.id)).recoveryCodes).toHaveLength(10);
    // A passkey-only user has no TOTP to turn off (even with a valid recovery code).
    const again = off.ok ? off.issued.session : fresh;
    expect(await disableSecondFactor(h.deps, h.post(), again, { code: '123456' })).toMatchObject({
      error: 'not_enrolled',
    });

    const carol = await h.enrol('carol');
    const carolSession = await h.sessionFor(carol.user);
    expect((await disableSecondFactor(h.deps, h.post(), carolSession, { code: h.code(carol.key) })).ok).toBe(
      true,
    );
    expect((await h.deps.users.getById(carol.user.id))!.secondFactor).toBeNull();
  });

  test("an admin's reset removes the passkeys with everything else and ends every session", async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    const reset = await resetSecondFactor(h.deps, user.id, 'admin-1');
    expect(reset).toMatchObject({ ok: true, changed: true, revokedSessions: 1 });
    expect(await listPasskeys(h.deps, user.id)).toEqual([]);
    expect((await h.deps.users.getById(user.id))!.secondFactor).toBeNull();
    expect((await h.passwordStep('alice')).ok).toBe(true);
  });

  test('a recovery link that clears the second factor removes the passkeys; one that does not keeps them', async () => {
    h = passkeyHarness(backend);
    const alice = await h.withPasskey('alice');
    const bob = await h.withPasskey('bob');
    const clearing = await issueRecoveryLink(h.deps, alice.user.id, { clearSecondFactor: true }, 'admin-1');
    const keeping = await issueRecoveryLink(h.deps, bob.user.id, {}, 'admin-1');
    if (!clearing.ok || !keeping.ok) throw new Error('issue');
    expect((await useRecoveryLink(h.deps, clearing.token, NEW_PASSWORD)).ok).toBe(true);
    expect((await useRecoveryLink(h.deps, keeping.token, NEW_PASSWORD)).ok).toBe(true);
    expect(await listPasskeys(h.deps, alice.user.id)).toEqual([]);
    expect((await doc(alice.user.id)).recoveryCodes).toEqual([]);
    expect(await listPasskeys(h.deps, bob.user.id)).toHaveLength(1);
  });
});
