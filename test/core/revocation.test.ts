import { describe, expect, test } from 'vitest';
import { cookiePair, coreHarness, incoming } from '../support/core.js';

describe('revocation', () => {
  test('sign-out deletes the session server-side: an old copy of the cookie is dead', async () => {
    const { sessions } = coreHarness();
    const cookie = cookiePair((await sessions.create(incoming(), { userId: 'alice' })).setCookie[0]);
    const out = await sessions.destroy(incoming({ cookie, method: 'POST' }));
    expect(out.destroyed).toBe(true);
    expect(out.setCookie[0]).toMatch(/^cloakroom=; Path=\/; HttpOnly; SameSite=Lax; Max-Age=0/);
    expect((await sessions.validate(incoming({ cookie }))).reason).toBe('not-found');
  });

  test('sign-out without a cookie or with garbage is harmless and still clears the cookie', async () => {
    const { sessions, calls } = coreHarness();
    for (const cookie of [undefined, 'cloakroom=garbage', 'cloakroom=a.b']) {
      const out = await sessions.destroy(incoming({ method: 'POST', ...(cookie ? { cookie } : {}) }));
      expect(out.destroyed).toBe(false);
      expect(out.setCookie).toHaveLength(1);
    }
    expect(calls.delete ?? 0).toBe(0);
  });

  test('revoking one session by public id leaves the others', async () => {
    const { sessions } = coreHarness();
    const a = await sessions.create(incoming(), { userId: 'alice' });
    const b = await sessions.create(incoming(), { userId: 'alice' });
    expect(await sessions.revoke('alice', b.session.id)).toBe(true);
    expect((await sessions.validate(incoming({ cookie: cookiePair(b.setCookie[0]) }))).session).toBeNull();
    expect(
      (await sessions.validate(incoming({ cookie: cookiePair(a.setCookie[0]) }))).session,
    ).not.toBeNull();
  });

  test("a user cannot revoke another user's session by its id (no IDOR)", async () => {
    const { sessions } = coreHarness();
    const alice = await sessions.create(incoming(), { userId: 'alice' });
    expect(await sessions.revoke('bob', alice.session.id)).toBe(false);
    expect(
      (await sessions.validate(incoming({ cookie: cookiePair(alice.setCookie[0]) }))).session,
    ).not.toBeNull();
  });

  test('revoking all of a user ends every session of that user only; "except" keeps the current one', async () => {
    const { sessions } = coreHarness();
    const mine = await Promise.all([1, 2, 3].map(() => sessions.create(incoming(), { userId: 'alice' })));
    const bob = await sessions.create(incoming(), { userId: 'bob' });
    expect(await sessions.revokeUser('alice', { except: mine[0]!.session })).toBe(2);
    const alive = await Promise.all(
      mine.map(
        async (m) =>
          (await sessions.validate(incoming({ cookie: cookiePair(m.setCookie[0]) }))).session !== null,
      ),
    );
    expect(alive).toEqual([true, false, false]);
    expect(await sessions.revokeUser('alice')).toBe(1);
    expect(
      (await sessions.validate(incoming({ cookie: cookiePair(bob.setCookie[0]) }))).session,
    ).not.toBeNull();
  });

  test('listing shows created, last-seen, IP and user agent, marks the current one, and never a token', async () => {
    const { sessions, clock } = coreHarness();
    const a = await sessions.create(incoming({ ip: '203.0.113.7', userAgent: 'Firefox/130' }), {
      userId: 'alice',
    });
    clock.advance(1000);
    const b = await sessions.create(incoming({ ip: '198.51.100.2', userAgent: 'Chrome/129' }), {
      userId: 'alice',
    });
    const list = await sessions.list('alice', a.session);
    expect(list).toHaveLength(2);
    const current = list.find((s) => s.current)!;
    expect(current).toMatchObject({ id: a.session.id, ip: '203.0.113.7', userAgent: 'Firefox/130' });
    expect(list.find((s) => !s.current)).toMatchObject({ id: b.session.id, ip: '198.51.100.2' });
    const text = JSON.stringify(list);
    for (const issued of [a, b])
      expect(text).not.toContain(cookiePair(issued.setCookie[0]).split('=')[1]!.split('.')[0]);
  });
});
