import { describe, expect, test } from 'vitest';
import { cookiePair, coreHarness, incoming } from '../support/core.js';

describe('sliding renewal write throttling', () => {
  test('validation inside the touch interval reads once and writes nothing', async () => {
    const { sessions, calls, clock } = coreHarness({ touchInterval: '60s' });
    const cookie = cookiePair((await sessions.create(incoming(), { userId: 'alice' })).setCookie[0]);
    const before = { ...calls };
    for (let i = 0; i < 50; i++) {
      clock.advance(1_000);
      await sessions.validate(incoming({ cookie }));
    }
    expect((calls.get ?? 0) - (before.get ?? 0)).toBe(50);
    expect(calls.touch ?? 0).toBe(before.touch ?? 0);
    expect(calls.updateData ?? 0).toBe(before.updateData ?? 0);
  });

  test('at most one renewal write per touch interval under steady traffic', async () => {
    const { sessions, calls, clock } = coreHarness({ touchInterval: '60s', idleTimeout: '30m' });
    const cookie = cookiePair((await sessions.create(incoming(), { userId: 'alice' })).setCookie[0]);
    for (let i = 0; i < 600; i++) {
      clock.advance(1_000); // ten minutes, one request a second
      await sessions.validate(incoming({ cookie }));
    }
    expect(calls.touch).toBe(10);
  });

  test('a renewal moves the idle deadline and last-seen time forward', async () => {
    const { sessions, clock } = coreHarness({ touchInterval: '60s', idleTimeout: '30m' });
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    const cookie = cookiePair(issued.setCookie[0]);
    clock.advance(5 * 60_000);
    const renewed = await sessions.validate(incoming({ cookie }));
    expect(renewed.session!.lastSeenAt).toBe(clock.now());
    expect(renewed.session!.idleExpiresAt).toBe(clock.now() + 30 * 60_000);
    // A renewal of a browser-session cookie needs no new Set-Cookie: the cookie itself has no expiry.
    expect(renewed.setCookie).toEqual([]);
  });

  test('a renewal racing a sign-out does not resurrect the session', async () => {
    const { sessions, clock, store } = coreHarness({ touchInterval: '60s' });
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    const cookie = cookiePair(issued.setCookie[0]);
    clock.advance(61_000);
    const results = await Promise.all([
      sessions.destroy(incoming({ cookie, method: 'POST' })),
      ...Array.from({ length: 20 }, () => sessions.validate(incoming({ cookie }))),
    ]);
    expect(results[0]).toMatchObject({ destroyed: true });
    expect(await store.listByUser('alice', clock.now())).toEqual([]);
    expect((await sessions.validate(incoming({ cookie }))).session).toBeNull();
  });
});
