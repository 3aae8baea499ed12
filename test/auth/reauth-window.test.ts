import { afterEach, describe, expect, test } from 'vitest';
import {
  beginTotpEnrolment,
  changePassword,
  confirmTotpEnrolment,
  disableSecondFactor,
  reauthenticate,
  regenerateRecoveryCodes,
  signOutOthers,
} from '../../packages/cloakroom/src/auth/accounts/index.js';
import type { Session } from '../../packages/cloakroom/src/core/session.js';
import { incoming } from '../support/core.js';
import { type Harness, harness, NEW_PASSWORD, PASSWORD } from './second-factor-harness.js';

/*
 * Sensitive actions need a proof of a factor within the re-auth window (default ten minutes):
 * from the last millisecond of the window on, they answer `reauth_required` and change nothing.
 * `reauthenticate` (password, and a code for an enrolled user) gives the session a new ticket
 * whose window starts again.
 */

const WINDOW = 10 * 60_000;
const post = () => incoming({ method: 'POST', ip: '203.0.113.10' });

/** Every sensitive action of a signed-in user, as a function of the session. */
function sensitive(h: Harness): Record<string, (s: Session) => Promise<{ ok: boolean }>> {
  return {
    changePassword: (s) =>
      changePassword(h.deps, post(), s, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }),
    signOutOthers: (s) => signOutOthers(h.deps, post(), s),
    beginTotpEnrolment: (s) => beginTotpEnrolment(h.deps, s),
    confirmTotpEnrolment: (s) => confirmTotpEnrolment(h.deps, post(), s, { code: '123456' }),
    regenerateRecoveryCodes: (s) => regenerateRecoveryCodes(h.deps, s),
    disableSecondFactor: (s) => disableSecondFactor(h.deps, post(), s, { code: '123456' }),
  };
}

describe('the re-auth window', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  test.each([
    'changePassword',
    'signOutOthers',
    'beginTotpEnrolment',
    'regenerateRecoveryCodes',
    'disableSecondFactor',
    'confirmTotpEnrolment',
  ])('%s: allowed 1 ms inside the window, reauth_required at its end', async (name) => {
    h = harness();
    await h.addUser('alice');
    const inside = await h.signedIn('alice');
    h.clock.advance(WINDOW - 1);
    expect(h.sessions.isRecent(inside)).toBe(true);
    const answer = await sensitive(h)[name]!(inside);
    expect(answer).not.toMatchObject({ error: 'reauth_required' });

    await h.addUser('bob');
    const outside = await h.signedIn('bob');
    h.clock.advance(WINDOW);
    expect(await sensitive(h)[name]!(outside)).toMatchObject({ ok: false, error: 'reauth_required' });
  });

  test('reauthenticate with the password restarts the window, with a new ticket', async () => {
    h = harness();
    await h.addUser('alice');
    const session = await h.signedIn('alice');
    h.clock.advance(WINDOW);
    expect(await signOutOthers(h.deps, post(), session)).toMatchObject({ error: 'reauth_required' });
    expect(await reauthenticate(h.deps, post(), session, { password: 'wrong password here' })).toMatchObject({
      error: 'wrong_password',
    });
    const again = await reauthenticate(h.deps, post(), session, { password: PASSWORD });
    if (!again.ok) throw new Error(again.error);
    expect(again.issued.session.authenticatedAt).toBe(h.clock.now());
    expect(again.issued.session.methods).toEqual(['pwd']);
    expect((await signOutOthers(h.deps, post(), again.issued.session)).ok).toBe(true);
    expect(h.events.filter((e) => e.event === 'reauthenticated')).toHaveLength(1);
  });

  test('an enrolled user needs a code as well; with it the session counts pwd and otp', async () => {
    h = harness();
    const { key, session } = await h.enrol('alice');
    h.clock.advance(WINDOW);
    expect(await reauthenticate(h.deps, post(), session, { password: PASSWORD })).toMatchObject({
      error: 'invalid_code',
    });
    expect(
      await reauthenticate(h.deps, post(), session, { password: PASSWORD, code: '000000' }),
    ).toMatchObject({
      error: 'invalid_code',
    });
    const again = await reauthenticate(h.deps, post(), session, { password: PASSWORD, code: h.code(key) });
    if (!again.ok) throw new Error(again.error);
    expect(again.issued.session.methods).toEqual(['pwd', 'otp']);
    expect(h.sessions.isRecent(again.issued.session)).toBe(true);
  });
});
