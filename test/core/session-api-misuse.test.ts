import { describe, expect, test } from 'vitest';
import { StoreError } from '../../packages/cloakroom/src/core/errors.js';
import { cookiePair, coreHarness, incoming } from '../support/core.js';

describe('misuse of the session API throws; it never yields a half-made session', () => {
  test('create refuses an empty or non-string userId and an epoch that is not a whole number ≥ 0', async () => {
    const { sessions, calls } = coreHarness();
    for (const userId of ['', 42, null, undefined]) {
      await expect(sessions.create(incoming(), { userId: userId as string }), String(userId)).rejects.toThrow(
        TypeError,
      );
    }
    for (const epoch of [-1, 1.5, Number.NaN, 2 ** 53]) {
      await expect(sessions.create(incoming(), { userId: 'alice', epoch }), String(epoch)).rejects.toThrow(
        TypeError,
      );
    }
    expect(calls.create ?? 0).toBe(0);
    expect((await sessions.create(incoming(), { userId: 'alice', epoch: 0 })).session.epoch).toBe(0);
  });

  test('rotate refuses a bad epoch before touching the store, and takes a good one', async () => {
    const { sessions, calls } = coreHarness();
    const { session } = await sessions.create(incoming(), { userId: 'alice' });
    for (const epoch of [-1, 0.5, Number.POSITIVE_INFINITY]) {
      await expect(sessions.rotate(incoming(), session, { epoch }), String(epoch)).rejects.toThrow(TypeError);
    }
    expect(calls.delete ?? 0).toBe(0);
    expect((await sessions.rotate(incoming(), session, { epoch: 0 })).session.epoch).toBe(0);
  });

  test('rotating a session that was revoked meanwhile is a conflict: it is not brought back', async () => {
    const { sessions } = coreHarness();
    const { session } = await sessions.create(incoming(), { userId: 'alice' });
    await sessions.revokeUser('alice');
    const error = await sessions.rotate(incoming(), session).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'conflict' });
    expect(await sessions.list('alice')).toEqual([]);
  });

  test('end() ends exactly that session server-side, and says whether it was there', async () => {
    const { sessions } = coreHarness();
    const mine = await sessions.create(incoming(), { userId: 'alice' });
    const other = await sessions.create(incoming(), { userId: 'alice' });
    expect(await sessions.end(mine.session)).toBe(true);
    expect(await sessions.end(mine.session)).toBe(false);
    expect((await sessions.validate(incoming({ cookie: cookiePair(mine.setCookie[0]) }))).reason).toBe(
      'not-found',
    );
    expect(
      (await sessions.validate(incoming({ cookie: cookiePair(other.setCookie[0]) }))).session,
    ).not.toBeNull();
  });

  test('a look-alike object is not a session: end, rotate and csrfToken refuse it', async () => {
    const { sessions } = coreHarness();
    const { session } = await sessions.create(incoming(), { userId: 'alice' });
    const fake = { ...session };
    await expect(sessions.end(fake)).rejects.toThrow(TypeError);
    await expect(sessions.rotate(incoming(), fake)).rejects.toThrow(TypeError);
    expect(() => sessions.csrfToken(fake)).toThrow(TypeError);
    expect(await sessions.list('alice')).toHaveLength(1);
  });

  test('a session handed to the application is frozen: its user cannot be changed in place', async () => {
    const { sessions } = coreHarness();
    const { session } = await sessions.create(incoming(), { userId: 'alice', data: { role: 'user' } });
    expect(Object.isFrozen(session)).toBe(true);
    expect(Object.isFrozen(session.data)).toBe(true);
    expect(() => {
      (session as { userId: string }).userId = 'admin';
    }).toThrow(TypeError);
  });

  test('revoking by anything that is not a public id costs no store round trip', async () => {
    const { sessions, calls } = coreHarness();
    await sessions.create(incoming(), { userId: 'alice' });
    for (const id of ['', 'x', 'A'.repeat(23), `${'A'.repeat(21)}.`]) {
      expect(await sessions.revoke('alice', id), id).toBe(false);
    }
    expect(calls.listByUser ?? 0).toBe(0);
  });

  test('signing in with no cookie deletes nothing; a request with no cookie gets no Set-Cookie', async () => {
    const { sessions, calls } = coreHarness();
    await sessions.create(incoming(), { userId: 'alice' });
    expect(calls.delete ?? 0).toBe(0);
    expect(await sessions.validate(incoming())).toEqual({ session: null, reason: 'missing', setCookie: [] });
    expect(await sessions.validate(incoming({ cookie: 'cloakroom=a; cloakroom=b' }))).toEqual({
      session: null,
      reason: 'malformed',
      setCookie: [],
    });
  });

  test('the stored user agent is capped at 512 characters', async () => {
    const { sessions } = coreHarness();
    const { session } = await sessions.create(incoming({ userAgent: 'U'.repeat(5000) }), { userId: 'alice' });
    expect(session.userAgent).toBe('U'.repeat(512));
  });

  test('cookieName names the cookie this request is read under', () => {
    const { sessions } = coreHarness();
    expect(sessions.cookieName(incoming({ https: false }))).toBe('cloakroom');
    expect(sessions.cookieName(incoming({ https: true }))).toBe('__Host-cloakroom');
  });
});
