import { afterEach, describe, expect, test } from 'vitest';
import {
  lockUser,
  reauthenticate,
  resetSecondFactor,
} from '../../packages/cloakroom/src/auth/accounts/index.js';
import { PasswordsBusyError } from '../../packages/cloakroom/src/auth/password-limit.js';
import { MAX_PASSWORD_BYTES } from '../../packages/cloakroom/src/auth/password-policy.js';
import { cookiePair, incoming } from '../support/core.js';
import { type Harness, harness, PASSWORD } from './second-factor-harness.js';

/*
 * reauthenticate, the account action ("confirm it is you"): the password under the sign-in
 * throttle, a code as well for an enrolled user, then a new ticket whose authenticatedAt is now.
 * The re-auth window itself is in reauth-window.test.ts; the ticket change in
 * test/core/reauthenticate.test.ts.
 */

const IP = '203.0.113.10';
const post = () => incoming({ method: 'POST', ip: IP });
const WRONG = 'wrong password here';

describe('reauthenticate', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  test('bad input shapes are invalid, before the password is checked or counted', async () => {
    h = harness();
    await h.addUser('alice');
    const session = await h.signedIn('alice');
    for (const password of [undefined, null, 123, '', 'a'.repeat(MAX_PASSWORD_BYTES + 1)]) {
      expect(await reauthenticate(h.deps, post(), session, { password }), String(password)).toMatchObject({
        ok: false,
        error: 'invalid',
        field: 'password',
      });
    }
    // A code of the wrong shape is refused even for a user who has no second factor.
    for (const input of [{ code: 123456 }, { recoveryCode: 42 }, { code: '123456', recoveryCode: 'abcd' }]) {
      expect(
        await reauthenticate(h.deps, post(), session, { password: PASSWORD, ...input }),
        JSON.stringify(input),
      ).toMatchObject({ ok: false, error: 'invalid', field: 'code' });
    }
    expect(h.events.filter((e) => e.event === 'login.failure')).toEqual([]);
    expect(h.events.filter((e) => e.event === 'reauthenticated')).toEqual([]);
  });

  test('a password of exactly the byte limit is checked (wrong_password); one byte more is invalid', async () => {
    h = harness();
    await h.addUser('alice');
    const session = await h.signedIn('alice');
    // 'é' is two bytes: the limit counts bytes, not characters.
    const atLimit = `${'é'.repeat(MAX_PASSWORD_BYTES / 2 - 1)}ab`;
    expect(Buffer.byteLength(atLimit)).toBe(MAX_PASSWORD_BYTES);
    expect(await reauthenticate(h.deps, post(), session, { password: atLimit })).toMatchObject({
      error: 'wrong_password',
    });
    expect(await reauthenticate(h.deps, post(), session, { password: `${atLimit}c` })).toMatchObject({
      error: 'invalid',
    });
  });

  test('a wrong password: wrong_password, audited as login.failure (route reauth), counted on the sign-in throttle', async () => {
    h = harness();
    const user = await h.addUser('alice');
    const session = await h.signedIn('alice');
    // Four failures are four places, not more: the fifth attempt is still checked.
    for (let i = 0; i < 4; i++) {
      expect(await reauthenticate(h.deps, post(), session, { password: WRONG })).toEqual({
        ok: false,
        error: 'wrong_password',
        message: 'The password is wrong.',
      });
    }
    expect(h.events.filter((e) => e.event === 'login.failure')).toEqual(
      Array(4).fill({ event: 'login.failure', userId: user.id, route: 'reauth', ip: IP }),
    );
    expect(h.events.filter((e) => e.event === 'lockout')).toEqual([]);
    expect(await reauthenticate(h.deps, post(), session, { password: WRONG })).toMatchObject({
      error: 'wrong_password',
    });
    expect(h.events.filter((e) => e.event === 'lockout')).toEqual([
      { event: 'lockout', username: 'alice', scope: 'account', ip: IP },
    ]);
    // Now locked out: the right password is not even checked, here or at sign-in.
    const locked = await reauthenticate(h.deps, post(), session, { password: PASSWORD });
    expect(locked).toMatchObject({ ok: false, error: 'throttled' });
    if (locked.ok || locked.error !== 'throttled') throw new Error('expected throttled');
    expect(locked.retryAfterSeconds).toBe(15 * 60);
    expect(await h.passwordStep('alice')).toMatchObject({ error: 'throttled' });
  });

  test("a locked account's password is wrong, whatever it is", async () => {
    h = harness();
    const user = await h.addUser('alice');
    const session = await h.signedIn('alice');
    await lockUser(h.deps, user.id, 'test');
    expect(await reauthenticate(h.deps, post(), session, { password: PASSWORD })).toMatchObject({
      ok: false,
      error: 'wrong_password',
    });
  });

  test('a busy hasher gives the throttle places back: refused attempts never use up the budget', async () => {
    h = harness();
    await h.addUser('alice');
    const session = await h.signedIn('alice');
    const busy = {
      ...h.deps,
      passwords: {
        ...h.deps.passwords,
        verify: async () => {
          throw new PasswordsBusyError({ reason: 'queue_full', retryAfterSeconds: 1 });
        },
      },
    };
    for (let i = 0; i < 8; i++) {
      await expect(reauthenticate(busy, post(), session, { password: PASSWORD })).rejects.toThrow(
        PasswordsBusyError,
      );
    }
    expect(h.events.filter((e) => e.event === 'login.failure')).toEqual([]);
    expect((await reauthenticate(h.deps, post(), session, { password: PASSWORD })).ok).toBe(true);
  });

  test('a session whose user is gone: not_found', async () => {
    h = harness();
    await h.addUser('alice');
    const session = await h.signedIn('alice');
    const gone = { ...h.deps, users: { ...h.deps.users, getById: async () => null } };
    expect(await reauthenticate(gone, post(), session, { password: PASSWORD })).toMatchObject({
      ok: false,
      error: 'not_found',
    });
  });

  test('an enrolled user: no code or a wrong one is invalid_code, counted on the code throttle, then throttled', async () => {
    h = harness();
    const { user, key, session } = await h.enrol('alice');
    expect(await reauthenticate(h.deps, post(), session, { password: PASSWORD })).toMatchObject({
      error: 'invalid_code',
    });
    expect(h.events.filter((e) => e.event === 'second-factor.failure')).toEqual([]);
    for (let i = 0; i < 5; i++) {
      expect(
        await reauthenticate(h.deps, post(), session, { password: PASSWORD, code: '000000' }),
      ).toMatchObject({ error: 'invalid_code' });
    }
    expect(h.events.filter((e) => e.event === 'second-factor.failure')).toHaveLength(5);
    expect(h.events.filter((e) => e.event === 'second-factor.failure').at(0)).toEqual({
      event: 'second-factor.failure',
      userId: user.id,
      method: 'totp',
      ip: IP,
      lockout: [],
    });
    const locked = await reauthenticate(h.deps, post(), session, { password: PASSWORD, code: h.code(key) });
    expect(locked).toMatchObject({ ok: false, error: 'throttled' });
    if (locked.ok || locked.error !== 'throttled') throw new Error('expected throttled');
    expect(locked.retryAfterSeconds).toBe(15 * 60);
  });

  test('a right code or a recovery code: methods pwd and otp, and the code is used up', async () => {
    h = harness();
    const { key, recoveryCodes, session } = await h.enrol('alice');
    const code = h.code(key);
    const byCode = await reauthenticate(h.deps, post(), session, { password: PASSWORD, code });
    if (!byCode.ok) throw new Error(byCode.error);
    expect(byCode.issued.session.methods).toEqual(['pwd', 'otp']);
    const next = byCode.issued.session;
    expect(await reauthenticate(h.deps, post(), next, { password: PASSWORD, code })).toMatchObject({
      error: 'invalid_code',
    });
    const recoveryCode = recoveryCodes[0]!;
    const byRecovery = await reauthenticate(h.deps, post(), next, { password: PASSWORD, recoveryCode });
    if (!byRecovery.ok) throw new Error(byRecovery.error);
    expect(byRecovery.issued.session.methods).toEqual(['pwd', 'otp']);
    expect(
      await reauthenticate(h.deps, post(), byRecovery.issued.session, { password: PASSWORD, recoveryCode }),
    ).toMatchObject({ error: 'invalid_code' });
  });

  test("a user without a second factor: methods pwd, replacing the session's own", async () => {
    h = harness();
    const user = await h.addUser('alice');
    // A session that once counted a second factor (turned off since).
    const { session } = await h.sessions.create(post(), { userId: user.id, methods: ['pwd', 'otp'] });
    const again = await reauthenticate(h.deps, post(), session, { password: PASSWORD });
    if (!again.ok) throw new Error(again.error);
    expect(again.issued.session.methods).toEqual(['pwd']);
  });

  test('the new ticket: authenticatedAt now, the old ticket dead at once, audited with its fields', async () => {
    h = harness();
    await h.addUser('alice');
    const first = await h.passwordStep('alice');
    if (!first.ok) throw new Error(first.error);
    const old = incoming({ cookie: cookiePair(first.issued.setCookie[0]) });
    h.clock.advance(60_000);
    const again = await reauthenticate(h.deps, post(), first.issued.session, { password: PASSWORD });
    if (!again.ok) throw new Error(again.error);
    expect(again.issued.session.authenticatedAt).toBe(h.clock.now());
    expect((await h.sessions.validate(old)).session).toBeNull();
    const fresh = incoming({ cookie: cookiePair(again.issued.setCookie[0]) });
    expect((await h.sessions.validate(fresh)).session?.userId).toBe(first.issued.session.userId);
    expect(h.events.filter((e) => e.event === 'reauthenticated')).toEqual([
      {
        event: 'reauthenticated',
        userId: first.issued.session.userId,
        session: again.issued.session.id,
        methods: ['pwd'],
      },
    ]);
  });

  test('a second factor removed while the password is checked: invalid_code, never not_enrolled', async () => {
    h = harness();
    const { user, key, session } = await h.enrol('alice');
    const racing = {
      ...h.deps,
      passwords: {
        ...h.deps.passwords,
        verify: async (hash: string, password: string) => {
          await resetSecondFactor(h.deps, user.id, 'test');
          return h.deps.passwords.verify(hash, password);
        },
      },
    };
    expect(
      await reauthenticate(racing, post(), session, { password: PASSWORD, code: h.code(key) }),
    ).toMatchObject({ ok: false, error: 'invalid_code' });
  });
});
