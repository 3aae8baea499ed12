import { describe, expect, test } from 'vitest';
import { cookiePair, coreHarness, incoming } from '../support/core.js';

describe('session fixation', () => {
  test('sign-in always issues a new token, never the one the request came with', async () => {
    const { sessions } = coreHarness();
    const planted = await sessions.create(incoming(), { userId: 'mallory' });
    const plantedCookie = cookiePair(planted.setCookie[0]);
    const victim = await sessions.create(incoming({ cookie: plantedCookie }), { userId: 'alice' });
    expect(cookiePair(victim.setCookie[0])).not.toBe(plantedCookie);
    expect(victim.session.id).not.toBe(planted.session.id);
  });

  test("the session a sign-in request carried is destroyed: the attacker's cookie is dead afterwards", async () => {
    const { sessions } = coreHarness();
    const planted = await sessions.create(incoming(), { userId: 'mallory' });
    const plantedCookie = cookiePair(planted.setCookie[0]);
    await sessions.create(incoming({ cookie: plantedCookie }), { userId: 'alice' });
    const replay = await sessions.validate(incoming({ cookie: plantedCookie }));
    expect(replay.session).toBeNull();
    expect(replay.reason).toBe('not-found');
  });

  test('a forged, never-issued token is never adopted (strict session mode)', async () => {
    const { sessions } = coreHarness();
    const forged = `cloakroom=${'A'.repeat(43)}.${'B'.repeat(43)}`;
    const result = await sessions.validate(incoming({ cookie: forged }));
    expect(result.session).toBeNull();
    const signedIn = await sessions.create(incoming({ cookie: forged }), { userId: 'alice' });
    expect(cookiePair(signedIn.setCookie[0])).not.toBe(forged);
  });

  test('rotation issues a new token, kills the old one, and keeps the absolute deadline', async () => {
    const { sessions, clock } = coreHarness();
    const first = await sessions.create(incoming(), { userId: 'alice', data: { theme: 'dark' } });
    const oldCookie = cookiePair(first.setCookie[0]);
    clock.advance(10 * 60_000);
    const rotated = await sessions.rotate(incoming({ cookie: oldCookie }), first.session);
    expect((await sessions.validate(incoming({ cookie: oldCookie }))).session).toBeNull();
    const now = await sessions.validate(incoming({ cookie: cookiePair(rotated.setCookie[0]) }));
    expect(now.session?.userId).toBe('alice');
    expect(now.session?.data).toEqual({ theme: 'dark' });
    expect(now.session?.createdAt).toBe(first.session.createdAt);
    expect(now.session?.absoluteExpiresAt).toBe(first.session.absoluteExpiresAt);
    expect(rotated.csrfToken).not.toBe(first.csrfToken);
    // The CSRF secret rotates with the session: the old token no longer verifies.
    expect(sessions.checkCsrf(incoming({ method: 'POST' }), now.session!, first.csrfToken)).toBe('bad-token');
  });
});
