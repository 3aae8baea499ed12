import { describe, expect, test } from 'vitest';
import { cookiePair, coreHarness, incoming } from '../support/core.js';

const MIN = 60_000;

describe('absolute timeout', () => {
  test('constant activity does not keep a session past its absolute deadline', async () => {
    const { sessions, clock } = coreHarness({ idleTimeout: '30m', absoluteTimeout: '2h' });
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    const cookie = cookiePair(issued.setCookie[0]);
    let last = await sessions.validate(incoming({ cookie }));
    while (clock.now() + 5 * MIN < issued.session.absoluteExpiresAt) {
      clock.advance(5 * MIN);
      last = await sessions.validate(incoming({ cookie }));
      expect(last.session).not.toBeNull();
      expect(last.session!.idleExpiresAt).toBeLessThanOrEqual(issued.session.absoluteExpiresAt);
      expect(last.session!.absoluteExpiresAt).toBe(issued.session.absoluteExpiresAt);
    }
    clock.set(issued.session.absoluteExpiresAt);
    expect((await sessions.validate(incoming({ cookie }))).reason).toBe('absolute-timeout');
  });

  test('renewal writes never extend the absolute deadline in the store', async () => {
    const { sessions, clock, store } = coreHarness({ idleTimeout: '30m', absoluteTimeout: '1h' });
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    const cookie = cookiePair(issued.setCookie[0]);
    for (let i = 0; i < 5; i++) {
      clock.advance(10 * MIN);
      await sessions.validate(incoming({ cookie }));
    }
    const [record] = await store.listByUser('alice', clock.now());
    expect(record!.absoluteExpiresAt).toBe(issued.session.absoluteExpiresAt);
    expect(record!.idleExpiresAt).toBeLessThanOrEqual(record!.absoluteExpiresAt);
  });

  test('remember me: the cookie Max-Age never exceeds the remaining absolute lifetime', async () => {
    const { sessions } = coreHarness({ rememberTimeout: '30d' });
    const issued = await sessions.create(incoming(), { userId: 'alice', remember: true });
    const maxAge = Number(/Max-Age=(\d+)/.exec(issued.setCookie[0]!)?.[1]);
    expect(maxAge).toBe(30 * 24 * 3600);
    expect(issued.session.absoluteExpiresAt - issued.session.createdAt).toBe(30 * 24 * 3600 * 1000);
  });

  test('really waiting: a 2 s absolute timeout ends an active session', async () => {
    const { createSessions } = await import('../../packages/cloakroom/src/core/sessions.js');
    const { createMemoryStore } = await import('../../packages/cloakroom/src/stores/memory/index.js');
    const { SECRET_A } = await import('../support/core.js');
    const sessions = createSessions({
      secrets: [SECRET_A],
      store: createMemoryStore({ sweepIntervalMs: 0 }),
      idleTimeout: '2s',
      absoluteTimeout: '2s',
      touchInterval: '1s',
    });
    const cookie = cookiePair((await sessions.create(incoming(), { userId: 'alice' })).setCookie[0]);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 500));
      expect((await sessions.validate(incoming({ cookie }))).session).not.toBeNull();
    }
    await new Promise((r) => setTimeout(r, 600));
    expect((await sessions.validate(incoming({ cookie }))).reason).toBe('absolute-timeout');
  });
});
