import { afterEach, describe, expect, test } from 'vitest';
import {
  type AccountDeps,
  changePassword,
  inspectRecoveryLink,
  issueRecoveryLink,
  resetPassword,
  secondFactorStatus,
  useRecoveryLink,
} from '../../packages/cloakroom/src/auth/accounts/index.js';
import { PasswordsBusyError } from '../../packages/cloakroom/src/auth/password-limit.js';
import { incoming } from '../support/core.js';
import { BACKENDS, type Harness, harness, NEW_PASSWORD, PASSWORD } from './second-factor-harness.js';

/*
 * Recovery without email: an admin's one-time link. Random, stored hashed, one hour, exactly
 * once (parallel uses included), void once the password changes another way. Using it sets a
 * new password, removes the second factor only when the issuer asked, ends every session.
 */

const HOUR = 60 * 60_000;
const THIRD = 'velvet harbour gently 93';

describe.each(BACKENDS)('recovery links on %s', (backend) => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  test('works once: new password, every session ended, audited without the token', async () => {
    h = harness(backend);
    const { user } = await h.enrol('alice');
    expect(await h.sessions.list(user.id)).not.toEqual([]);
    const issued = await issueRecoveryLink(h.deps, user.id, {}, 'admin-id');
    if (!issued.ok) throw new Error(issued.error);
    expect(issued.expiresAt).toBe(h.clock.now() + HOUR);
    expect((await h.deps.users.getById(user.id))!.secondFactor).not.toContain(issued.token.split('.')[1]);
    expect(await inspectRecoveryLink(h.deps, issued.token)).toMatchObject({
      ok: true,
      user: { id: user.id, username: 'alice' },
      clearSecondFactor: false,
    });
    const used = await useRecoveryLink(h.deps, issued.token, NEW_PASSWORD);
    expect(used).toMatchObject({ ok: true, secondFactorCleared: false, revokedSessions: 1 });
    expect(await h.sessions.list(user.id)).toEqual([]);
    expect((await h.deps.users.getById(user.id))!.epoch).toBeGreaterThan(user.epoch);
    // The new password works (and the second factor is still asked for).
    expect(await h.passwordStep('alice', NEW_PASSWORD)).toMatchObject({ error: 'second_factor' });
    expect(await useRecoveryLink(h.deps, issued.token, THIRD)).toMatchObject({ ok: false, error: 'closed' });
    expect(await inspectRecoveryLink(h.deps, issued.token)).toMatchObject({ error: 'closed' });
    const text = JSON.stringify(h.events);
    expect(text).not.toContain(issued.token.split('.')[1]);
    expect(h.events.map((e) => e.event)).toEqual(
      expect.arrayContaining(['recovery-link.issued', 'recovery-link.used']),
    );
  });

  test('20 parallel uses: exactly one sets its password', async () => {
    h = harness(backend);
    const user = await h.addUser('alice');
    const issued = await issueRecoveryLink(h.deps, user.id, {}, 'cli');
    if (!issued.ok) throw new Error(issued.error);
    // The link is used up before the slow hash: of 20 uses, one gets as far as argon2.
    let hashes = 0;
    const counting = {
      ...h.deps,
      passwords: {
        ...h.deps.passwords,
        hash: (p: string) => {
          hashes++;
          return h.deps.passwords.hash(p);
        },
      },
    };
    const candidates = Array.from({ length: 20 }, (_, i) => `${NEW_PASSWORD} ${i}`);
    const results = await Promise.all(candidates.map((p) => useRecoveryLink(counting, issued.token, p)));
    expect(hashes).toBe(1);
    const winners = candidates.filter((_, i) => results[i]!.ok);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.error)).toEqual(Array(19).fill('closed'));
    expect((await h.passwordStep('alice', winners[0]!)).ok).toBe(true);
  });

  test('expired after one hour', async () => {
    h = harness(backend);
    const user = await h.addUser('alice');
    const issued = await issueRecoveryLink(h.deps, user.id, {}, 'cli');
    if (!issued.ok) throw new Error(issued.error);
    h.clock.advance(HOUR - 1);
    expect((await inspectRecoveryLink(h.deps, issued.token)).ok).toBe(true);
    h.clock.advance(1);
    expect(await useRecoveryLink(h.deps, issued.token, NEW_PASSWORD)).toMatchObject({ error: 'closed' });
    expect((await h.passwordStep('alice', PASSWORD)).ok).toBe(true);
  });

  test('void once the password changed another way', async () => {
    h = harness(backend);
    const user = await h.addUser('alice');
    const session = await h.signedIn('alice');
    const issued = await issueRecoveryLink(h.deps, user.id, {}, 'cli');
    if (!issued.ok) throw new Error(issued.error);
    const changed = await changePassword(h.deps, incoming({ method: 'POST' }), session, {
      currentPassword: PASSWORD,
      newPassword: THIRD,
    });
    expect(changed.ok).toBe(true);
    expect(await inspectRecoveryLink(h.deps, issued.token)).toMatchObject({ error: 'closed' });
    expect(await useRecoveryLink(h.deps, issued.token, NEW_PASSWORD)).toMatchObject({ error: 'closed' });
    expect((await h.passwordStep('alice', THIRD)).ok).toBe(true);
  });

  test('removes the second factor only when the issuer asked', async () => {
    h = harness(backend);
    const kept = await h.enrol('alice');
    const link = await issueRecoveryLink(h.deps, kept.user.id, { clearSecondFactor: false }, 'cli');
    if (!link.ok) throw new Error(link.error);
    await useRecoveryLink(h.deps, link.token, NEW_PASSWORD);
    expect(secondFactorStatus((await h.deps.users.getById(kept.user.id))!).enabled).toBe(true);

    const cleared = await h.enrol('bob');
    const clearing = await issueRecoveryLink(h.deps, cleared.user.id, { clearSecondFactor: true }, 'cli');
    if (!clearing.ok) throw new Error(clearing.error);
    expect(await inspectRecoveryLink(h.deps, clearing.token)).toMatchObject({ clearSecondFactor: true });
    expect(await useRecoveryLink(h.deps, clearing.token, NEW_PASSWORD)).toMatchObject({
      ok: true,
      secondFactorCleared: true,
    });
    expect(secondFactorStatus((await h.deps.users.getById(cleared.user.id))!)).toEqual({
      enabled: false,
      recoveryCodesLeft: 0,
      enrolledAt: null,
      passkeys: 0,
    });
    expect((await h.passwordStep('bob', NEW_PASSWORD)).ok).toBe(true);
  });

  test('a password the policy refuses leaves the link working; a new link replaces the old', async () => {
    h = harness(backend);
    const user = await h.addUser('alice');
    const first = await issueRecoveryLink(h.deps, user.id, {}, 'cli');
    if (!first.ok) throw new Error(first.error);
    expect(await useRecoveryLink(h.deps, first.token, 'short')).toMatchObject({
      error: 'invalid',
      field: 'newPassword',
    });
    expect((await inspectRecoveryLink(h.deps, first.token)).ok).toBe(true);
    const second = await issueRecoveryLink(h.deps, user.id, {}, 'cli');
    if (!second.ok) throw new Error(second.error);
    expect(await inspectRecoveryLink(h.deps, first.token)).toMatchObject({ error: 'closed' });
    expect((await useRecoveryLink(h.deps, second.token, NEW_PASSWORD)).ok).toBe(true);
  });

  test('lifts the sign-in lockout; a forged or malformed token is closed', async () => {
    h = harness(backend);
    const user = await h.addUser('alice');
    for (let i = 0; i < 5; i++) await h.passwordStep('alice', 'wrong password here');
    expect(await h.passwordStep('alice', PASSWORD)).toMatchObject({ error: 'throttled' });
    const issued = await issueRecoveryLink(h.deps, user.id, {}, 'cli');
    if (!issued.ok) throw new Error(issued.error);
    const [id] = issued.token.split('.');
    for (const forged of [`${id}.${'A'.repeat(43)}`, 'nonsense', `${issued.token}x`, 42]) {
      expect(await useRecoveryLink(h.deps, forged, NEW_PASSWORD)).toMatchObject({ error: 'closed' });
    }
    expect((await useRecoveryLink(h.deps, issued.token, NEW_PASSWORD)).ok).toBe(true);
    expect((await h.passwordStep('alice', NEW_PASSWORD)).ok).toBe(true);
  });

  test('an unknown user: not_found for the issuer', async () => {
    h = harness(backend);
    expect(await issueRecoveryLink(h.deps, 'no-such-id', {}, 'cli')).toMatchObject({ error: 'not_found' });
  });

  test('audited with who, what and until when; never the token', async () => {
    h = harness(backend);
    const user = await h.addUser('alice');
    await h.signedIn('alice');
    const issued = await issueRecoveryLink(h.deps, user.id, {}, 'admin-id');
    if (!issued.ok) throw new Error(issued.error);
    expect((await useRecoveryLink(h.deps, issued.token, NEW_PASSWORD)).ok).toBe(true);
    expect(h.events.filter((e) => e.event.startsWith('recovery-link.'))).toEqual([
      {
        event: 'recovery-link.issued',
        userId: user.id,
        by: 'admin-id',
        clearSecondFactor: false,
        expiresAt: issued.expiresAt,
      },
      { event: 'recovery-link.used', userId: user.id, revokedSessions: 1, secondFactorCleared: false },
    ]);
  });

  test('a token for no user, or not a token: closed, for inspect and use alike', async () => {
    h = harness(backend);
    const nobody = `${Buffer.from('no-such-id').toString('base64url')}.${'A'.repeat(43)}`;
    for (const token of [nobody, 'nonsense', 42]) {
      expect(await inspectRecoveryLink(h.deps, token), String(token)).toMatchObject({ error: 'closed' });
      expect(await useRecoveryLink(h.deps, token, NEW_PASSWORD), String(token)).toMatchObject({
        error: 'closed',
      });
    }
  });

  test('the policy sees the username: a new password that contains it is refused', async () => {
    h = harness(backend);
    const user = await h.addUser('alice');
    const issued = await issueRecoveryLink(h.deps, user.id, {}, 'cli');
    if (!issued.ok) throw new Error(issued.error);
    expect(await useRecoveryLink(h.deps, issued.token, 'alice in chains 4711')).toMatchObject({
      error: 'invalid',
      field: 'newPassword',
    });
  });

  test('issuing while the account changes too often: conflict, not not_found', async () => {
    h = harness(backend);
    const user = await h.addUser('alice');
    const churning = { ...h.deps, users: { ...h.deps.users, update: async () => null } };
    expect(await issueRecoveryLink(churning, user.id, {}, 'cli')).toMatchObject({
      ok: false,
      error: 'conflict',
    });
  });

  test.each([
    ['while the new password is hashed', 'hash'],
    ['between the read and the write', 'update'],
  ] as const)(
    'a password change that lands %s voids the link: closed, the other change stands',
    async (_, at) => {
      h = harness(backend);
      const user = await h.addUser('alice');
      const issued = await issueRecoveryLink(h.deps, user.id, {}, 'cli');
      if (!issued.ok) throw new Error(issued.error);
      let raced = false;
      const race = async () => {
        if (raced) return;
        raced = true;
        expect((await resetPassword(h.deps, user.id, THIRD, 'admin')).ok).toBe(true);
      };
      const racing: AccountDeps = {
        ...h.deps,
        passwords: {
          ...h.deps.passwords,
          hash: async (p: string) => {
            const hash = await h.deps.passwords.hash(p);
            if (at === 'hash') await race();
            return hash;
          },
        },
        users: {
          ...h.deps.users,
          update: async (...args: Parameters<typeof h.deps.users.update>) => {
            if (at === 'update' && args[1].passwordHash) await race();
            return h.deps.users.update(...args);
          },
        },
      };
      expect(await useRecoveryLink(racing, issued.token, NEW_PASSWORD)).toMatchObject({
        ok: false,
        error: 'closed',
      });
      expect(raced).toBe(true);
      expect((await h.passwordStep('alice', THIRD)).ok).toBe(true);
    },
  );

  test('an account gone while the new password is hashed: closed', async () => {
    h = harness(backend);
    const user = await h.addUser('alice');
    const issued = await issueRecoveryLink(h.deps, user.id, {}, 'cli');
    if (!issued.ok) throw new Error(issued.error);
    let gone = false;
    const vanishing: AccountDeps = {
      ...h.deps,
      passwords: {
        ...h.deps.passwords,
        hash: async (p: string) => {
          const hash = await h.deps.passwords.hash(p);
          gone = true;
          return hash;
        },
      },
      users: { ...h.deps.users, getById: async (id: string) => (gone ? null : h.deps.users.getById(id)) },
    };
    expect(await useRecoveryLink(vanishing, issued.token, NEW_PASSWORD)).toMatchObject({
      ok: false,
      error: 'closed',
    });
  });

  test('a busy hasher puts the link back, second factor and all; a link issued meanwhile is kept', async () => {
    h = harness(backend);
    const { user } = await h.enrol('alice');
    const issued = await issueRecoveryLink(h.deps, user.id, {}, 'cli');
    if (!issued.ok) throw new Error(issued.error);
    const busyWith = (meanwhile: () => Promise<unknown>): AccountDeps => ({
      ...h.deps,
      passwords: {
        ...h.deps.passwords,
        hash: async () => {
          await meanwhile();
          throw new PasswordsBusyError({ reason: 'queue_full', retryAfterSeconds: 1 });
        },
      },
    });
    await expect(
      useRecoveryLink(
        busyWith(async () => {}),
        issued.token,
        NEW_PASSWORD,
      ),
    ).rejects.toThrow(PasswordsBusyError);
    expect(secondFactorStatus((await h.deps.users.getById(user.id))!).enabled).toBe(true);
    expect((await inspectRecoveryLink(h.deps, issued.token)).ok).toBe(true);

    let replacement = '';
    const replacing = busyWith(async () => {
      const next = await issueRecoveryLink(h.deps, user.id, {}, 'cli');
      if (next.ok) replacement = next.token;
    });
    await expect(useRecoveryLink(replacing, issued.token, NEW_PASSWORD)).rejects.toThrow(PasswordsBusyError);
    expect(await inspectRecoveryLink(h.deps, issued.token)).toMatchObject({ error: 'closed' });
    expect(secondFactorStatus((await h.deps.users.getById(user.id))!).enabled).toBe(true);
    expect((await useRecoveryLink(h.deps, replacement, NEW_PASSWORD)).ok).toBe(true);
  });
});
