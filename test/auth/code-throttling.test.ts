import { afterEach, describe, expect, test } from 'vitest';
import { completeSignIn, reauthenticate } from '../../packages/cloakroom/src/auth/accounts/index.js';
import { incoming } from '../support/core.js';
import { BACKENDS, type Harness, harness, instance, PASSWORD } from './second-factor-harness.js';

/*
 * Code attempts are throttled per account like passwords (the sign-in throttle's limits: five
 * failures in fifteen minutes start a lockout), counted in the store so every instance agrees. A
 * wrong code counts, a right one clears the count; a locked-out account is refused before its
 * code is looked at, so the right code does not help a guesser either.
 */

describe.each(BACKENDS)('second-factor code throttling on %s', (backend) => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  test('five wrong codes lock code attempts out, seen by a second instance on the same store', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    for (let i = 0; i < 5; i++) {
      expect(await completeSignIn(h.deps, h.pendingFor(user), { code: '000000' })).toMatchObject({
        error: 'invalid_code',
      });
    }
    expect(h.events.filter((e) => e.event === 'second-factor.failure')).toHaveLength(5);
    expect(h.events.at(-1)).toMatchObject({ lockout: ['account'] });
    const locked = await completeSignIn(h.deps, h.pendingFor(user), { code: h.code(key) });
    expect(locked).toMatchObject({ ok: false, error: 'throttled' });
    if (locked.ok || locked.error !== 'throttled') throw new Error('expected throttled');
    expect(locked.retryAfterSeconds).toBeGreaterThan(0);
    expect(locked.retryAfterSeconds).toBeLessThanOrEqual(15 * 60);

    const other = instance(h.stores.reopen(), h.clock);
    expect(await completeSignIn(other.deps, h.pendingFor(user, other), { code: h.code(key) })).toMatchObject({
      error: 'throttled',
    });
    h.clock.advance(15 * 60_000);
    expect((await completeSignIn(other.deps, h.pendingFor(user, other), { code: h.code(key) })).ok).toBe(
      true,
    );
  });

  test('a right code clears the count', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    for (let i = 0; i < 4; i++) await completeSignIn(h.deps, h.pendingFor(user), { code: '000000' });
    expect((await completeSignIn(h.deps, h.pendingFor(user), { code: h.code(key) })).ok).toBe(true);
    for (let i = 0; i < 4; i++) {
      expect(await completeSignIn(h.deps, h.pendingFor(user), { code: '000000' })).toMatchObject({
        error: 'invalid_code',
      });
    }
  });

  test('wrong codes at re-authentication count too; the password count is a separate one', async () => {
    h = harness(backend);
    const { user, key, session } = await h.enrol('alice');
    const post = () => incoming({ method: 'POST', ip: '203.0.113.10' });
    for (let i = 0; i < 5; i++) {
      expect(
        await reauthenticate(h.deps, post(), session, { password: PASSWORD, code: '000000' }),
      ).toMatchObject({
        error: 'invalid_code',
      });
    }
    expect(await completeSignIn(h.deps, h.pendingFor(user), { code: h.code(key) })).toMatchObject({
      error: 'throttled',
    });
    // The password was right every time: sign-in by password is not locked out by wrong codes.
    expect(await h.passwordStep('alice')).toMatchObject({ error: 'second_factor' });
  });

  test("code attempts are counted per account: one account's lockout leaves another's codes alone", async () => {
    h = harness(backend);
    const alice = await h.enrol('alice');
    const bob = await h.enrol('bob');
    for (let i = 0; i < 5; i++) await completeSignIn(h.deps, h.pendingFor(alice.user), { code: '000000' });
    expect(await completeSignIn(h.deps, h.pendingFor(alice.user), { code: h.code(alice.key) })).toMatchObject(
      {
        error: 'throttled',
      },
    );
    expect((await completeSignIn(h.deps, h.pendingFor(bob.user), { code: h.code(bob.key) })).ok).toBe(true);
    // Nor is the count a username's: alice's password sign-in is not locked out.
    expect(await h.passwordStep('alice')).toMatchObject({ error: 'second_factor' });
  });
});
