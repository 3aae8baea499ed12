import { describe, expect, test } from 'vitest';
import { manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { createMemoryStore } from '../../packages/cloakroom/src/stores/memory/index.js';
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
    // The interleaving is forced: validate() has read the record and is about to renew it when
    // the sign-out deletes it; only then may the renewal (touch) run. A memory store whose get
    // waits on a gate after reading makes that order certain.
    const clock = manualClock();
    const inner = createMemoryStore({ clock, sweepIntervalMs: 0 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let gated = false;
    const store = {
      ...inner,
      get: async (id: string) => {
        const record = await inner.get(id);
        if (gated) await gate;
        return record;
      },
      touch: (id: string, now: number, idle: number) => inner.touch(id, now, idle),
      delete: (id: string) => inner.delete(id),
      create: (r: Parameters<typeof inner.create>[0]) => inner.create(r),
      listByUser: (u: string, now: number) => inner.listByUser(u, now),
      deleteByUser: (u: string, except?: string) => inner.deleteByUser(u, except),
      updateData: (id: string, change: Parameters<typeof inner.updateData>[1]) =>
        inner.updateData(id, change),
    };
    const { sessions } = coreHarness({ touchInterval: '60s', store, clock });
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    const cookie = cookiePair(issued.setCookie[0]);
    clock.advance(61_000);
    gated = true;
    const renewal = sessions.validate(incoming({ cookie }));
    await new Promise((resolve) => setImmediate(resolve)); // validate() now waits with the record in hand
    expect(await sessions.destroy(incoming({ cookie, method: 'POST' }))).toMatchObject({ destroyed: true });
    release();
    // The renewal finds the session gone: no session, and nothing written back.
    expect(await renewal).toMatchObject({ session: null, reason: 'not-found' });
    gated = false;
    expect(await inner.listByUser('alice', clock.now())).toEqual([]);
    expect((await sessions.validate(incoming({ cookie }))).session).toBeNull();
  });
});
