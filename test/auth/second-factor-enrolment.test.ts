import { afterEach, describe, expect, test } from 'vitest';
import {
  beginTotpEnrolment,
  confirmTotpEnrolment,
  currentTotpEnrolment,
  disableSecondFactor,
  resetSecondFactor,
  secondFactorStatus,
} from '../../packages/cloakroom/src/auth/accounts/index.js';
import { totpCodeAt } from '../../packages/cloakroom/src/auth/second-factor/totp.js';
import { toUser } from '../../packages/cloakroom/src/auth/users.js';
import { incoming } from '../support/core.js';
import { type Harness, harness, STEP } from './second-factor-harness.js';

/*
 * Enrolment completes only with a valid code from the new authenticator; turning the factor off
 * needs a current code or a recovery code; an admin's reset removes it and ends every session.
 */

const post = () => incoming({ method: 'POST' });

describe('TOTP enrolment, turning it off, and an admin reset', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  test('begin gives a 160-bit key as base32 and an otpauth URI; nothing is on until a code confirms it', async () => {
    h = harness();
    const user = await h.addUser('alice');
    const session = await h.signedIn('alice');
    const begun = await beginTotpEnrolment(h.deps, session);
    if (!begun.ok) throw new Error(begun.error);
    expect(begun.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(begun.uri).toMatch(/^otpauth:\/\/totp\/cloakroom:alice\?/);
    expect(begun.uri).toContain(`secret=${begun.secret}`);
    expect(begun.uri).toMatch(/algorithm=SHA1&digits=6&period=30/);
    const stored = (await h.deps.users.getById(user.id))!;
    expect(stored.secondFactor).not.toContain(begun.secret);
    expect(toUser(stored).secondFactor).toBe(false);
    expect(await h.passwordStep('alice')).toMatchObject({ ok: true });

    expect(await confirmTotpEnrolment(h.deps, post(), session, { code: '000000' })).toMatchObject({
      error: 'invalid_code',
    });
    const confirmed = await confirmTotpEnrolment(h.deps, post(), session, {
      code: totpCodeAt(begun.secret, h.clock.now()),
    });
    if (!confirmed.ok) throw new Error(confirmed.error);
    expect(confirmed.issued.session.methods).toEqual(['pwd', 'otp']);
    expect(secondFactorStatus((await h.deps.users.getById(user.id))!)).toEqual({
      enabled: true,
      recoveryCodesLeft: 10,
      enrolledAt: h.clock.now(),
      passkeys: 0,
    });
    expect(h.events.map((e) => e.event)).toContain('second-factor.enabled');
    expect(await beginTotpEnrolment(h.deps, confirmed.issued.session)).toMatchObject({
      error: 'already_enrolled',
    });
  });

  test('confirm without a begun enrolment, or 30 minutes after it: not_enrolled', async () => {
    h = harness();
    await h.addUser('alice');
    const session = await h.signedIn('alice');
    expect(await confirmTotpEnrolment(h.deps, post(), session, { code: '123456' })).toMatchObject({
      error: 'not_enrolled',
    });
    const begun = await beginTotpEnrolment(h.deps, session);
    if (!begun.ok) throw new Error(begun.error);
    h.clock.advance(30 * 60_000 + 1);
    const fresh = await h.signedIn('alice');
    expect(
      await confirmTotpEnrolment(h.deps, post(), fresh, { code: totpCodeAt(begun.secret, h.clock.now()) }),
    ).toMatchObject({ error: 'not_enrolled' });
  });

  test('the enrolment in progress gives back the same key and URI, so a wrong first code needs no new key', async () => {
    h = harness();
    await h.addUser('alice');
    const session = await h.signedIn('alice');
    const begun = await beginTotpEnrolment(h.deps, session);
    if (!begun.ok) throw new Error(begun.error);
    expect(await confirmTotpEnrolment(h.deps, post(), session, { code: '000000' })).toMatchObject({
      error: 'invalid_code',
    });
    h.clock.advance(STEP);
    const current = await currentTotpEnrolment(h.deps, session);
    expect(current).toEqual({ ok: true, secret: begun.secret, uri: begun.uri });
    // The key read back is the one to confirm with.
    const confirmed = await confirmTotpEnrolment(h.deps, post(), session, {
      code: totpCodeAt(begun.secret, h.clock.now()),
    });
    expect(confirmed).toMatchObject({ ok: true });
  });

  test('after "start again" it gives the new key, not the first', async () => {
    h = harness();
    await h.addUser('alice');
    const session = await h.signedIn('alice');
    const first = await beginTotpEnrolment(h.deps, session);
    const second = await beginTotpEnrolment(h.deps, session);
    if (!first.ok || !second.ok) throw new Error('begin');
    expect(second.secret).not.toBe(first.secret);
    expect(await currentTotpEnrolment(h.deps, session)).toMatchObject({ ok: true, secret: second.secret });
  });

  test('refused: none begun or 30 minutes old (not_enrolled), outside the re-auth window, once on (already_enrolled)', async () => {
    h = harness();
    await h.addUser('alice');
    const session = await h.signedIn('alice');
    expect(await currentTotpEnrolment(h.deps, session)).toMatchObject({ ok: false, error: 'not_enrolled' });

    const begun = await beginTotpEnrolment(h.deps, session);
    if (!begun.ok) throw new Error(begun.error);
    // Outside the window (10 minutes) the key is not shown, though the enrolment still lasts.
    h.clock.advance(10 * 60_000 + 1);
    expect(await currentTotpEnrolment(h.deps, session)).toMatchObject({
      ok: false,
      error: 'reauth_required',
    });
    const later = await h.signedIn('alice');
    expect(await currentTotpEnrolment(h.deps, later)).toMatchObject({ ok: true, secret: begun.secret });
    // Exactly 30 minutes old still counts; a millisecond later it is gone.
    h.clock.advance(20 * 60_000 - 1);
    const fresh = await h.signedIn('alice');
    expect(await currentTotpEnrolment(h.deps, fresh)).toMatchObject({ ok: true, secret: begun.secret });
    h.clock.advance(1);
    expect(await currentTotpEnrolment(h.deps, fresh)).toMatchObject({ ok: false, error: 'not_enrolled' });

    const { session: enrolled } = await h.enrol('bob');
    expect(await currentTotpEnrolment(h.deps, enrolled)).toMatchObject({
      ok: false,
      error: 'already_enrolled',
    });
  });

  test('turning it off needs a valid code; then sign-in is one step again', async () => {
    h = harness();
    const { key, session, recoveryCodes } = await h.enrol('alice');
    expect(await disableSecondFactor(h.deps, post(), session, {})).toMatchObject({ error: 'invalid_code' });
    expect(await disableSecondFactor(h.deps, post(), session, { code: '000000' })).toMatchObject({
      error: 'invalid_code',
    });
    const off = await disableSecondFactor(h.deps, post(), session, { recoveryCode: recoveryCodes[0]! });
    if (!off.ok) throw new Error(off.error);
    expect(h.events.map((e) => e.event)).toContain('second-factor.disabled');
    expect(await h.passwordStep('alice')).toMatchObject({ ok: true });
    expect(
      await disableSecondFactor(h.deps, post(), off.issued.session, { code: h.code(key) }),
    ).toMatchObject({
      error: 'not_enrolled',
    });
  });

  test("an admin's reset removes the factor and ends every session; a second reset changes nothing", async () => {
    h = harness();
    const { user } = await h.enrol('alice');
    const reset = await resetSecondFactor(h.deps, user.id, 'admin-id');
    expect(reset).toMatchObject({ ok: true, changed: true, revokedSessions: 1 });
    if (!reset.ok) throw new Error(reset.error);
    expect(reset.user.epoch).toBe(user.epoch + 1);
    expect(secondFactorStatus(reset.user).enabled).toBe(false);
    expect(await h.sessions.list(user.id)).toEqual([]);
    expect(h.events.at(-1)).toEqual({
      event: 'second-factor.reset',
      userId: user.id,
      revokedSessions: 1,
      by: 'admin-id',
    });
    expect(await resetSecondFactor(h.deps, user.id, 'admin-id')).toMatchObject({ ok: true, changed: false });
    expect(await resetSecondFactor(h.deps, 'nobody', 'admin-id')).toMatchObject({ error: 'not_found' });
    expect(await h.passwordStep('alice')).toMatchObject({ ok: true });
  });
});
