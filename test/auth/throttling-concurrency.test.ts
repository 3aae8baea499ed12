import { describe, expect, test } from 'vitest';
import { createThrottle } from '../../src/auth/throttle.js';
import { manualClock } from '../../src/core/clock.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';

describe('throttling under concurrent guesses', () => {
  test('20 simultaneous attempts on one account admit only the limit; the rest are throttled', async () => {
    const clock = manualClock();
    const throttle = createThrottle({
      counters: createMemoryStore({ clock, sweepIntervalMs: 0 }).counters,
      clock,
    });
    const verdicts = await Promise.all(
      Array.from({ length: 20 }, () => throttle.admit('alice', '203.0.113.9')),
    );
    expect(verdicts.filter((v) => !v.throttled)).toHaveLength(5);
    expect(verdicts.filter((v) => v.throttled)).toHaveLength(15);
    await Promise.all(
      Array.from({ length: 5 }, () => throttle.fail('alice', '203.0.113.9', { admitted: true })),
    );
    const after = await throttle.check('alice', '198.51.100.1');
    expect(after).toMatchObject({ throttled: true, scope: 'account' });
  });

  test('a running lockout survives a flood of other counters in a full memory store', async () => {
    const clock = manualClock();
    const counters = createMemoryStore({ clock, sweepIntervalMs: 0, maxCounters: 50 }).counters;
    const throttle = createThrottle({ counters, clock });
    for (let i = 0; i < 5; i++) {
      await throttle.admit('alice', '203.0.113.9');
      await throttle.fail('alice', '203.0.113.9', { admitted: true });
    }
    for (let i = 0; i < 200; i++) await throttle.fail(`user${i}`, `2001:db8:${i.toString(16)}::1`);
    expect(await throttle.check('alice', '198.51.100.1')).toMatchObject({
      throttled: true,
      scope: 'account',
    });
  });
});
