import { afterEach, describe, expect, test } from 'vitest';
import {
  completeSignIn,
  lockUser,
  reauthenticate,
  resetPassword,
  resetSecondFactor,
  unlockUser,
} from '../../packages/cloakroom/src/auth/accounts/index.js';
import { incoming } from '../support/core.js';
import { BACKENDS, type Harness, harness, NEW_PASSWORD, PASSWORD } from './second-factor-harness.js';

/*
 * Two-step sign-in: after the password an enrolled user holds only a pending state (its own
 * signed cookie, five minutes, single use), never a session. The session exists only after the
 * code, and only if the account did not change in between.
 */

describe.each(BACKENDS)('two-step sign-in on %s', (backend) => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  test('a correct password for an enrolled user creates no session, only a pending state', async () => {
    h = harness(backend);
    const { user } = await h.enrol('alice');
    await h.sessions.revokeUser(user.id);
    const first = await h.passwordStep('alice');
    expect(first).toMatchObject({
      ok: false,
      error: 'second_factor',
      user: { id: user.id, secondFactor: true },
      pending: { userId: user.id, epoch: user.epoch, methods: ['pwd'] },
    });
    if (first.ok || first.error !== 'second_factor') throw new Error('expected second_factor');
    expect(first.setCookie[0]).toMatch(/^cloakroom-pending=.+; .*HttpOnly/);
    expect(await h.stores.sessions.listByUser(user.id, h.clock.now())).toEqual([]);
    // The pending cookie is no session.
    expect((await h.sessions.validate(h.withPending(first.setCookie))).session).toBeNull();
  });

  test('the code turns the pending state into a session (pwd + otp) and clears the pending cookie', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    const first = await h.passwordStep('alice');
    if (first.ok || first.error !== 'second_factor') throw new Error('expected second_factor');
    const done = await completeSignIn(h.deps, h.withPending(first.setCookie), { code: h.code(key) });
    if (!done.ok) throw new Error(done.error);
    expect(done.user).toMatchObject({ id: user.id, secondFactor: true });
    expect(done.issued.session.methods).toEqual(['pwd', 'otp']);
    expect(done.issued.setCookie.some((c) => /^cloakroom-pending=;.*Max-Age=0/.test(c))).toBe(true);
    expect(h.events.filter((e) => e.event === 'login.second-factor')).toMatchObject([
      { userId: user.id, method: 'totp', session: done.issued.session.id },
    ]);
  });

  test('without a pending state, or with a forged one: pending_expired', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    const none = await completeSignIn(h.deps, incoming({ method: 'POST' }), { code: h.code(key) });
    expect(none).toMatchObject({ ok: false, error: 'pending_expired' });
    const real = h.pendingFor(user).headers.get('cookie')!;
    const [name, value] = real.split('=') as [string, string];
    const body = JSON.parse(Buffer.from(value.split('.')[0]!, 'base64url').toString()) as unknown[];
    body[0] = 'someone-else';
    const forgedBody = Buffer.from(JSON.stringify(body)).toString('base64url');
    const forged = incoming({ method: 'POST', cookie: `${name}=${forgedBody}.${value.split('.')[1]}` });
    expect(await completeSignIn(h.deps, forged, { code: h.code(key) })).toMatchObject({
      error: 'pending_expired',
    });
    // The code was not used up by the refusals.
    expect((await completeSignIn(h.deps, h.pendingFor(user), { code: h.code(key) })).ok).toBe(true);
  });

  test('five minutes later the pending state has expired', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    const pending = h.pendingFor(user);
    h.clock.advance(5 * 60_000);
    expect(await completeSignIn(h.deps, pending, { code: h.code(key) })).toMatchObject({
      error: 'pending_expired',
    });
  });

  test('a pending state is used once: a second code on it is refused', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    const pending = h.pendingFor(user);
    expect((await completeSignIn(h.deps, pending, { code: h.code(key) })).ok).toBe(true);
    h.clock.advance(30_000);
    expect(await completeSignIn(h.deps, pending, { code: h.code(key) })).toMatchObject({
      error: 'pending_expired',
    });
  });

  test('two parallel completions of one pending state with two valid proofs: exactly one session', async () => {
    h = harness(backend);
    const { user, key, recoveryCodes } = await h.enrol('alice');
    await h.sessions.revokeUser(user.id);
    for (let round = 0; round < 5; round++) {
      const pending = h.pendingFor(user);
      const results = await Promise.all([
        completeSignIn(h.deps, pending, { code: h.code(key) }),
        completeSignIn(h.deps, pending, { recoveryCode: recoveryCodes[round]! }),
      ]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.find((r) => !r.ok)).toMatchObject({ error: 'pending_expired' });
      h.clock.advance(30_000);
    }
    expect(await h.sessions.list(user.id)).toHaveLength(5);
  });

  test('a lock between the two steps: refused, no session', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    const pending = h.pendingFor(user);
    await lockUser(h.deps, user.id, 'test');
    expect(await completeSignIn(h.deps, pending, { code: h.code(key) })).toMatchObject({
      error: 'pending_expired',
    });
    expect(await h.sessions.list(user.id)).toEqual([]);
  });

  test('a refusal for a changed account does not use up the code', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    const code = h.code(key);
    await lockUser(h.deps, user.id, 'test');
    expect(await completeSignIn(h.deps, h.pendingFor(user), { code })).toMatchObject({
      error: 'pending_expired',
    });
    await unlockUser(h.deps, user.id, 'test');
    const now = (await h.deps.users.getById(user.id))!;
    expect((await completeSignIn(h.deps, h.pendingFor(now), { code })).ok).toBe(true);
  });

  test('a lock that lands while the session is being created: the session is ended, refused', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    await h.sessions.revokeUser(user.id);
    const { sessions } = h;
    const racing = {
      ...h.deps,
      sessions: {
        ...sessions,
        create: async (...args: Parameters<typeof sessions.create>) => {
          await lockUser(h.deps, user.id, 'test');
          return sessions.create(...args);
        },
      },
    };
    expect(await completeSignIn(racing, h.pendingFor(user), { code: h.code(key) })).toMatchObject({
      error: 'pending_expired',
    });
    expect(await h.stores.sessions.listByUser(user.id, h.clock.now())).toEqual([]);
  });

  test('a password change between the two steps: refused, no session', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    const pending = h.pendingFor(user);
    await resetPassword(h.deps, user.id, NEW_PASSWORD, 'test');
    expect(await completeSignIn(h.deps, pending, { code: h.code(key) })).toMatchObject({
      error: 'pending_expired',
    });
    expect(await h.sessions.list(user.id)).toEqual([]);
  });

  test('bad input shapes are invalid; an empty code is a missing code', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    const pending = h.pendingFor(user);
    expect(await completeSignIn(h.deps, pending, { code: 123456 })).toMatchObject({
      error: 'invalid',
      field: 'code',
    });
    expect(await completeSignIn(h.deps, pending, { code: h.code(key), recoveryCode: 'x' })).toMatchObject({
      error: 'invalid',
    });
    expect(await completeSignIn(h.deps, pending, { code: '' })).toMatchObject({ error: 'invalid_code' });
  });

  test('a used pending state is refused before any code is looked at: the code sent with it is not used up', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    const pending = h.pendingFor(user);
    expect((await completeSignIn(h.deps, pending, { code: h.code(key) })).ok).toBe(true);
    h.clock.advance(30_000);
    const next = h.code(key);
    expect(await completeSignIn(h.deps, pending, { code: next })).toMatchObject({ error: 'pending_expired' });
    expect((await completeSignIn(h.deps, h.pendingFor(user), { code: next })).ok).toBe(true);
  });

  test('the used mark lasts as long as the state: a second completion in its last millisecond is refused', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    const pending = h.pendingFor(user);
    const state = h.sessions.readPending(pending)!;
    expect((await completeSignIn(h.deps, pending, { code: h.code(key) })).ok).toBe(true);
    h.clock.set(state.expiresAt - 1);
    expect(await completeSignIn(h.deps, pending, { code: h.code(key) })).toMatchObject({
      error: 'pending_expired',
    });
    // Kept one second past the state's expiry, then dropped: the counter store does not grow.
    const mark = `pending:${state.nonce}`;
    expect(await h.stores.counters.get(mark, state.expiresAt + 999)).toMatchObject({ count: 1 });
    expect(await h.stores.counters.get(mark, state.expiresAt + 1000)).toBeNull();
  });

  test('an account no longer enrolled, or no longer there, at the second step: pending_expired', async () => {
    h = harness(backend);
    const user = await h.addUser('carol');
    expect(await completeSignIn(h.deps, h.pendingFor(user), { code: '123456' })).toMatchObject({
      ok: false,
      error: 'pending_expired',
    });
    const { user: alice, key } = await h.enrol('alice');
    const gone = { ...h.deps, users: { ...h.deps.users, getById: async () => null } };
    expect(await completeSignIn(gone, h.pendingFor(alice), { code: h.code(key) })).toMatchObject({
      ok: false,
      error: 'pending_expired',
    });
    // Neither was a wrong code.
    expect(h.events.filter((e) => e.event === 'second-factor.failure')).toEqual([]);
  });

  test('refusals before the code is compared are no wrong codes: they neither count nor lock out', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    // A pending state from before a password change (another epoch), six times.
    for (let i = 0; i < 6; i++) {
      expect(
        await completeSignIn(h.deps, h.pendingFor({ ...user, epoch: user.epoch + 1 }), { code: '000000' }),
      ).toMatchObject({ error: 'pending_expired' });
    }
    expect(h.events.filter((e) => e.event === 'second-factor.failure')).toEqual([]);
    expect((await completeSignIn(h.deps, h.pendingFor(user), { code: h.code(key) })).ok).toBe(true);
  });

  test('a right code that loses its write to an admin reset is refused, and is not a wrong code', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    let raced = false;
    const racing = {
      ...h.deps,
      users: {
        ...h.deps.users,
        update: async (...args: Parameters<typeof h.deps.users.update>) => {
          if (!raced) {
            raced = true;
            await resetSecondFactor(h.deps, user.id, 'test');
          }
          return h.deps.users.update(...args);
        },
      },
    };
    expect(await completeSignIn(racing, h.pendingFor(user), { code: h.code(key) })).toMatchObject({
      error: 'pending_expired',
    });
    expect(raced).toBe(true);
    expect(h.events.filter((e) => e.event === 'second-factor.failure')).toEqual([]);
  });

  test('usedRecoveryCode and the audit event say which proof was used', async () => {
    h = harness(backend);
    const { user, key, recoveryCodes } = await h.enrol('alice');
    const byCode = await completeSignIn(h.deps, h.pendingFor(user), { code: h.code(key) });
    expect(byCode).toMatchObject({ ok: true, usedRecoveryCode: false, recoveryCodesLeft: 10 });
    const byRecovery = await completeSignIn(h.deps, h.pendingFor(user), { recoveryCode: recoveryCodes[0]! });
    expect(byRecovery).toMatchObject({ ok: true, usedRecoveryCode: true, recoveryCodesLeft: 9 });
    if (!byCode.ok || !byRecovery.ok) throw new Error('expected two sign-ins');
    expect(h.events.filter((e) => e.event === 'login.second-factor')).toEqual([
      {
        event: 'login.second-factor',
        userId: user.id,
        session: byCode.issued.session.id,
        method: 'totp',
        ip: '203.0.113.10',
        remember: false,
      },
      {
        event: 'login.second-factor',
        userId: user.id,
        session: byRecovery.issued.session.id,
        method: 'recovery-code',
        ip: '203.0.113.10',
        remember: false,
      },
    ]);
  });

  test('empty or null fields are missing ones: never counted, and the other field is used', async () => {
    h = harness(backend);
    const { user, recoveryCodes } = await h.enrol('alice');
    for (const input of [{ code: null }, { recoveryCode: '' }, { code: '', recoveryCode: null }]) {
      expect(await completeSignIn(h.deps, h.pendingFor(user), input), JSON.stringify(input)).toMatchObject({
        error: 'invalid_code',
      });
    }
    expect(h.events.filter((e) => e.event === 'second-factor.failure')).toEqual([]);
    for (const [i, input] of [
      { code: '', recoveryCode: recoveryCodes[0]! },
      { code: null, recoveryCode: recoveryCodes[1]! },
    ].entries()) {
      expect(await completeSignIn(h.deps, h.pendingFor(user), input), `input ${i}`).toMatchObject({
        ok: true,
        usedRecoveryCode: true,
      });
    }
    expect(await completeSignIn(h.deps, h.pendingFor(user), { recoveryCode: 123 })).toMatchObject({
      error: 'invalid',
      field: 'code',
    });
    expect(
      await completeSignIn(h.deps, h.pendingFor(user), { code: '123456', recoveryCode: recoveryCodes[2]! }),
    ).toMatchObject({ error: 'invalid', field: 'code' });
  });
});

describe('an account action that needs the second factor, without deps.secondFactor', () => {
  test('is misuse: a TypeError that names the missing dependency', async () => {
    const h = harness();
    try {
      const { key, session, user } = await h.enrol('alice');
      const { secondFactor: _, ...without } = h.deps;
      await expect(completeSignIn(without, h.pendingFor(user), { code: h.code(key) })).rejects.toThrow(
        /needs deps\.secondFactor/,
      );
      await expect(
        reauthenticate(without, incoming({ method: 'POST' }), session, {
          password: PASSWORD,
          code: h.code(key),
        }),
      ).rejects.toThrow(/needs deps\.secondFactor/);
    } finally {
      await h.close();
    }
  });
});
