import { afterEach, describe, expect, test } from 'vitest';
import {
  completeSignIn,
  regenerateRecoveryCodes,
  secondFactorStatus,
} from '../../packages/cloakroom/src/auth/accounts/index.js';
import { BACKENDS, type Harness, harness } from './second-factor-harness.js';

/*
 * Ten recovery codes, shown once and stored as hashes: each signs in once (parallel uses
 * included: the compare-and-set on the user's document lets exactly one through), and a new set
 * voids the old one.
 */

describe.each(BACKENDS)('recovery codes on %s', (backend) => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  test('ten codes of 80 bits, stored only as hashes', async () => {
    h = harness(backend);
    const { user, recoveryCodes } = await h.enrol('alice');
    expect(recoveryCodes).toHaveLength(10);
    for (const code of recoveryCodes)
      expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(user.secondFactor).not.toContain(code.replaceAll('-', ''));
    expect(secondFactorStatus(user)).toMatchObject({ enabled: true, recoveryCodesLeft: 10 });
  });

  test('each code signs in once; typed in capitals with spaces it is the same code', async () => {
    h = harness(backend);
    const { user, recoveryCodes } = await h.enrol('alice');
    const code = recoveryCodes[3]!;
    const typed = ` ${code.toUpperCase().replaceAll('-', ' ')} `;
    expect(await completeSignIn(h.deps, h.pendingFor(user), { recoveryCode: typed })).toMatchObject({
      ok: true,
      usedRecoveryCode: true,
      recoveryCodesLeft: 9,
    });
    expect(await completeSignIn(h.deps, h.pendingFor(user), { recoveryCode: code })).toMatchObject({
      ok: false,
      error: 'invalid_code',
    });
    expect((await completeSignIn(h.deps, h.pendingFor(user), { recoveryCode: recoveryCodes[4]! })).ok).toBe(
      true,
    );
  });

  test('20 parallel uses of one code: exactly one session', async () => {
    // Throttling would refuse most of a burst by itself: a high limit leaves the code's single use to the store.
    h = harness(backend, { throttle: { account: { failures: 100, window: '15m' } } });
    const { user, recoveryCodes } = await h.enrol('alice');
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        completeSignIn(h.deps, h.pendingFor(user), { recoveryCode: recoveryCodes[0]! }),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.error)).toEqual(Array(19).fill('invalid_code'));
    const sessions = await h.sessions.list(user.id);
    // The enrolment's own session, and the one recovery sign-in.
    expect(sessions.filter((s) => s.methods.includes('otp'))).toHaveLength(2);
    expect(secondFactorStatus((await h.deps.users.getById(user.id))!).recoveryCodesLeft).toBe(9);
  });

  test('a new set voids the old one', async () => {
    h = harness(backend);
    const { user, recoveryCodes, session } = await h.enrol('alice');
    const regenerated = await regenerateRecoveryCodes(h.deps, session);
    if (!regenerated.ok) throw new Error(regenerated.error);
    expect(regenerated.recoveryCodes).toHaveLength(10);
    expect(h.events.map((e) => e.event)).toContain('recovery-codes.regenerated');
    expect(
      await completeSignIn(h.deps, h.pendingFor(user), { recoveryCode: recoveryCodes[0]! }),
    ).toMatchObject({
      error: 'invalid_code',
    });
    expect(
      (await completeSignIn(h.deps, h.pendingFor(user), { recoveryCode: regenerated.recoveryCodes[0]! })).ok,
    ).toBe(true);
  });

  test('no audit event, error or document ever holds a code', async () => {
    h = harness(backend);
    const { user, recoveryCodes, key } = await h.enrol('alice');
    await completeSignIn(h.deps, h.pendingFor(user), { recoveryCode: 'zzzz-zzzz-zzzz-zzzz' });
    await completeSignIn(h.deps, h.pendingFor(user), { recoveryCode: recoveryCodes[0]! });
    const text = JSON.stringify(h.events) + ((await h.deps.users.getById(user.id))!.secondFactor ?? '');
    for (const code of recoveryCodes) expect(text).not.toContain(code);
    expect(text).not.toContain(key);
    expect(text).not.toContain('zzzz');
  });
});
