import { afterEach, describe, expect, test, vi } from 'vitest';
import { manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { ConfigError } from '../../packages/cloakroom/src/core/errors.js';
import type { SessionRecord } from '../../packages/cloakroom/src/core/store.js';
import { createMemoryStore } from '../../packages/cloakroom/src/stores/memory/index.js';
import { sessionRecord } from '../../packages/cloakroom/src/testing/session-fixtures.js';

const MINUTE = 60_000;

function setup(maxSessions: number) {
  const clock = manualClock();
  const store = createMemoryStore({ maxSessions, clock, sweepIntervalMs: 0 });
  const t0 = clock.now();
  // Deadlines relative to the manual clock; the idle deadline is the one that counts here.
  const record = (expiresInMin: number, overrides: Partial<SessionRecord> = {}) =>
    sessionRecord({
      createdAt: t0,
      lastSeenAt: t0,
      idleExpiresAt: t0 + expiresInMin * MINUTE,
      absoluteExpiresAt: t0 + 12 * 60 * MINUTE,
      ...overrides,
    });
  return { clock, store, t0, record };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('memory store: bounded size', () => {
  test('size never exceeds maxSessions; the sessions evicted are those nearest to expiry', async () => {
    const { store, t0, record } = setup(10);
    // Shuffled, so eviction order cannot come from insertion order.
    const first = [17, 11, 19, 10, 14, 12, 18, 16, 13, 15].map((m) => record(m));
    for (const r of first) await store.create(r);
    const later = [100, 101, 102, 103, 104].map((m) => record(m));
    for (const r of later) {
      await store.create(r);
      expect(store.size).toBe(10);
    }
    const keptMinutes: number[] = [];
    for (const r of first) {
      if ((await store.get(r.id)) !== null) keptMinutes.push((r.idleExpiresAt - t0) / MINUTE);
    }
    expect(keptMinutes.sort((a, b) => a - b)).toEqual([15, 16, 17, 18, 19]);
    for (const r of later) expect(await store.get(r.id)).not.toBeNull();
  });

  test('the absolute deadline counts too: nearest is min(idle, absolute)', async () => {
    const { store, t0, record } = setup(2);
    const absoluteSoon = record(60, { absoluteExpiresAt: t0 + 5 * MINUTE });
    const idleLater = record(30);
    await store.create(absoluteSoon);
    await store.create(idleLater);
    await store.create(record(90));
    expect(await store.get(absoluteSoon.id)).toBeNull();
    expect(await store.get(idleLater.id)).not.toBeNull();
  });

  test('a touch that moves a deadline changes who is evicted', async () => {
    const { store, t0, record } = setup(2);
    const a = record(10);
    const b = record(20);
    await store.create(a);
    await store.create(b);
    expect(await store.touch(a.id, t0 + MINUTE, t0 + 30 * MINUTE)).toBe(true);
    await store.create(record(40));
    expect(await store.get(a.id)).not.toBeNull();
    expect(await store.get(b.id)).toBeNull();
  });

  test("eviction keeps the per-user index consistent: the evicted session leaves its user's list and count", async () => {
    const { store, t0, record } = setup(3);
    const adaSoon = record(5);
    const adaLate = record(50);
    await store.create(adaSoon);
    await store.create(adaLate);
    await store.create(record(60, { userId: 'user-bob' }));
    await store.create(record(70, { userId: 'user-carol' }));
    expect((await store.listByUser('user-ada', t0)).map((r) => r.id)).toEqual([adaLate.id]);
    expect(await store.deleteByUser('user-ada')).toBe(1);
    expect(await store.deleteByUser('user-ada')).toBe(0);
    expect(store.size).toBe(2);
  });

  test('eviction stays right after thousands of touches (stale heap entries are compacted)', async () => {
    const { store, t0, record } = setup(5);
    const r = record(10);
    await store.create(r);
    for (let i = 1; i <= 5_000; i++) await store.touch(r.id, t0 + i, t0 + 10 * MINUTE + i);
    // Still evicts correctly after compaction.
    for (let i = 0; i < 5; i++) await store.create(record(1_000 + i));
    expect(await store.get(r.id)).toBeNull();
    expect(store.size).toBe(5);
  });

  test('maxSessions must be a positive integer (ConfigError naming the option)', () => {
    expect(() => createMemoryStore({ maxSessions: 0 })).toThrow(ConfigError);
    expect(() => createMemoryStore({ maxSessions: 1.5 })).toThrow(/maxSessions/);
  });
});

describe('memory store: expiry', () => {
  test('an expired record is returned for the core to judge, but never revived, listed or counted', async () => {
    const { clock, store, record } = setup(10);
    const r = record(30);
    await store.create(r);
    clock.advance(30 * MINUTE);
    // get() hands the expired record over so the core can name the timeout and delete it.
    expect(await store.get(r.id)).not.toBeNull();
    expect(await store.listByUser(r.userId, clock.now())).toEqual([]);
    expect(await store.touch(r.id, clock.now(), clock.now() + 30 * MINUTE)).toBe(false);
    expect(store.size).toBe(0);
    expect(await store.get(r.id)).toBeNull();
    expect(await store.deleteByUser(r.userId)).toBe(0);
  });

  test('the sweep timer removes expired sessions and keeps live ones', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = manualClock();
    const store = createMemoryStore({ clock, sweepIntervalMs: MINUTE });
    const t0 = clock.now();
    const expiring = sessionRecord({ idleExpiresAt: t0 + MINUTE, absoluteExpiresAt: t0 + 60 * MINUTE });
    const live = sessionRecord({ idleExpiresAt: t0 + 30 * MINUTE, absoluteExpiresAt: t0 + 60 * MINUTE });
    await store.create(expiring);
    await store.create(live);
    await store.counters.increment('ip:1', MINUTE, t0);
    clock.advance(2 * MINUTE);
    vi.advanceTimersByTime(MINUTE);
    expect(store.size).toBe(1);
    expect(await store.listByUser(live.userId, clock.now())).toHaveLength(1);
    expect(await store.deleteByUser(expiring.userId)).toBe(1); // only `live` was left
    await store.close();
  });

  test('close() stops the sweep timer', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = manualClock();
    const store = createMemoryStore({ clock, sweepIntervalMs: MINUTE });
    await store.create(sessionRecord({ idleExpiresAt: clock.now() + 1, absoluteExpiresAt: clock.now() + 2 }));
    await store.close();
    clock.advance(MINUTE);
    vi.advanceTimersByTime(10 * MINUTE);
    expect(store.size).toBe(1);
  });
});

describe('memory store: counters are bounded too', () => {
  test('past maxCounters the counter whose window started first is evicted', async () => {
    const store = createMemoryStore({ maxCounters: 3, sweepIntervalMs: 0 });
    const t0 = Date.UTC(2026, 0, 1);
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries())
      await store.counters.increment(key, MINUTE, t0 + i);
    expect(await store.counters.get('a', t0 + 10)).toBeNull();
    expect(await store.counters.get('d', t0 + 10)).toEqual({ count: 1, resetAt: t0 + 3 + MINUTE });
  });
});
