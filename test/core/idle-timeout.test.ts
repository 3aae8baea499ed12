import { describe, expect, test } from 'vitest';
import { cookiePair, coreHarness, incoming } from '../support/core.js';

const MIN = 60_000;

describe('idle timeout', () => {
  test('a session unused for longer than the idle timeout is refused and deleted', async () => {
    const { sessions, clock, store } = coreHarness({ idleTimeout: '30m' });
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    clock.advance(30 * MIN);
    const result = await sessions.validate(incoming({ cookie: cookiePair(issued.setCookie[0]) }));
    expect(result.reason).toBe('idle-timeout');
    expect(result.setCookie[0]).toMatch(/Max-Age=0/);
    await new Promise((r) => setImmediate(r));
    expect(await store.listByUser('alice', clock.now() - 31 * MIN)).toEqual([]);
  });

  test('activity slides the idle deadline', async () => {
    const { sessions, clock } = coreHarness({ idleTimeout: '30m', absoluteTimeout: '12h' });
    const cookie = cookiePair((await sessions.create(incoming(), { userId: 'alice' })).setCookie[0]);
    for (let i = 0; i < 6; i++) {
      clock.advance(20 * MIN);
      expect((await sessions.validate(incoming({ cookie }))).session?.userId).toBe('alice');
    }
  });

  test('the idle deadline is measured from recorded activity, so it can end early by at most the touch interval, never late', async () => {
    const { sessions, clock } = coreHarness({ idleTimeout: '10m', touchInterval: '60s' });
    const cookie = cookiePair((await sessions.create(incoming(), { userId: 'alice' })).setCookie[0]);
    clock.advance(59_000); // inside the touch interval: not recorded
    expect((await sessions.validate(incoming({ cookie }))).session).not.toBeNull();
    clock.advance(10 * MIN - 59_000); // 10 min after the last recorded activity
    expect((await sessions.validate(incoming({ cookie }))).reason).toBe('idle-timeout');
  });

  test('a remember-me session uses the longer remember idle timeout', async () => {
    const { sessions, clock } = coreHarness({ idleTimeout: '30m', rememberIdleTimeout: '7d' });
    const cookie = cookiePair(
      (await sessions.create(incoming(), { userId: 'alice', remember: true })).setCookie[0],
    );
    clock.advance(3 * 24 * 60 * MIN);
    expect((await sessions.validate(incoming({ cookie }))).session?.remember).toBe(true);
  });

  test('really waiting: a 2 s idle timeout ends a session after 2 s of real time', async () => {
    const { createSessions } = await import('../../packages/cloakroom/src/core/sessions.js');
    const { createMemoryStore } = await import('../../packages/cloakroom/src/stores/memory/index.js');
    const { SECRET_A } = await import('../support/core.js');
    const sessions = createSessions({
      secrets: [SECRET_A],
      store: createMemoryStore({ sweepIntervalMs: 0 }),
      idleTimeout: '2s',
      touchInterval: '1s',
    });
    const cookie = cookiePair((await sessions.create(incoming(), { userId: 'alice' })).setCookie[0]);
    expect((await sessions.validate(incoming({ cookie }))).session).not.toBeNull();
    await new Promise((r) => setTimeout(r, 2_100));
    expect((await sessions.validate(incoming({ cookie }))).reason).toBe('idle-timeout');
  });
});
