import { describe, expect, test } from 'vitest';
import { type Admission, type Admitted, createThrottle } from '../../packages/cloakroom/src/auth/throttle.js';
import type { CounterStore } from '../../packages/cloakroom/src/auth/types.js';
import { manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { createMemoryStore } from '../../packages/cloakroom/src/stores/memory/index.js';
import { authHarness, passwords } from '../support/auth.js';

const PASSWORD = 'correct horse battery staple';

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
    const lockouts = await Promise.all(
      Array.from({ length: 5 }, () => throttle.fail('alice', '203.0.113.9', { admitted: true })),
    );
    // One lockout, of one window: concurrent failures used to start (and escalate) it five times.
    expect(lockouts.flat()).toEqual(['account']);
    const after = await throttle.check('alice', '198.51.100.1');
    expect(after).toMatchObject({ throttled: true, scope: 'account', retryAfterSeconds: 15 * 60 });
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

  test('60 simultaneous guesses over 60 usernames from one IP admit only the IP limit; the rest are throttled', async () => {
    // Regression: the address was counted only in `fail`, after the (slow) verification, so all
    // 60 ran an argon2 verification before the first failure was recorded.
    const clock = manualClock();
    const throttle = createThrottle({
      counters: createMemoryStore({ clock, sweepIntervalMs: 0 }).counters,
      clock,
      ip: { failures: 10, window: '15m' },
    });
    const verdicts = await Promise.all(
      Array.from({ length: 60 }, (_, i) => throttle.admit(`user${i}`, '203.0.113.9')),
    );
    expect(verdicts.filter((v) => !v.throttled)).toHaveLength(10);
    expect(verdicts.filter((v) => v.throttled).map((v) => v.throttled && v.scope)).toEqual(
      Array(50).fill('ip'),
    );
    const lockouts = await Promise.all(
      Array.from({ length: 10 }, (_, i) => throttle.fail(`user${i}`, '203.0.113.9', { admitted: true })),
    );
    expect(lockouts.flat()).toEqual(['ip']);
    expect(await throttle.check('someone-else', '203.0.113.9')).toMatchObject({
      throttled: true,
      scope: 'ip',
    });
    expect(await throttle.check('someone-else', '198.51.100.1')).toEqual({ throttled: false });
  });

  test('60 parallel sign-ins over 60 usernames from one IP verify only 10 passwords; 50 are throttled, then the IP is locked out', async () => {
    const h = authHarness({ throttle: { ip: { failures: 10, window: '15m' } } });
    await h.seed('alice', await passwords.hash(PASSWORD));
    const ip = '198.51.100.7';
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => h.signInAs(`user${i}`, 'wrong password', ip)),
    );
    const errors = results.map((r) => (r.ok ? 'ok' : r.error));
    expect(errors.filter((e) => e === 'invalid_credentials')).toHaveLength(10);
    expect(errors.filter((e) => e === 'throttled')).toHaveLength(50);
    expect(results.filter((r) => !r.ok && r.error === 'throttled' && r.scope !== 'ip')).toEqual([]);
    expect(await h.signInAs('alice', PASSWORD, ip)).toMatchObject({ error: 'throttled', scope: 'ip' });
    expect(await h.signInAs('alice', PASSWORD, '198.51.100.8')).toMatchObject({ ok: true });
  });

  test('successful sign-ins give their place back: they never use up the per-IP limit', async () => {
    const h = authHarness({ throttle: { ip: { failures: 3, window: '15m' } } });
    await h.seed('alice', await passwords.hash(PASSWORD));
    const ip = '198.51.100.7';
    for (let i = 0; i < 5; i++) expect(await h.signInAs('alice', PASSWORD, ip)).toMatchObject({ ok: true });
    // Only failures count: the third one, not the first, starts the lockout.
    const failures = [];
    for (let i = 0; i < 3; i++) failures.push(await h.signInAs(`user${i}`, 'wrong password', ip));
    expect(failures.map((r) => (!r.ok && 'lockout' in r ? r.lockout : null))).toEqual([[], [], ['ip']]);
  });

  test("a success cannot give back a place in a later window (it would cancel that window's failures)", async () => {
    const clock = manualClock();
    const throttle = createThrottle({
      counters: createMemoryStore({ clock, sweepIntervalMs: 0 }).counters,
      clock,
      ip: { failures: 3, window: '15m' },
    });
    const ip = '203.0.113.9';
    const admitted = await throttle.admit('alice', ip);
    clock.advance(15 * 60_000);
    expect(await throttle.fail('u1', ip)).toEqual([]);
    expect(await throttle.fail('u2', ip)).toEqual([]);
    if (admitted.throttled) throw new Error('alice should have been admitted');
    await throttle.succeed('alice', admitted);
    expect(await throttle.fail('u3', ip)).toEqual(['ip']);
  });

  function memoryThrottle() {
    const clock = manualClock();
    const throttle = createThrottle({
      counters: createMemoryStore({ clock, sweepIntervalMs: 0 }).counters,
      clock,
    });
    return { clock, throttle };
  }

  const admittedOf = (admissions: Admission[]) => admissions.filter((a): a is Admitted => !a.throttled);

  test('20 parallel attempts on one account, the admitted ones settled as successes: neither the account nor the address keeps a failure', async () => {
    // Regression: 150 parallel correct sign-ins of five users from one address left 125 refusals
    // counted as failures, and every sign-in from that address got 429 for the next 15 minutes.
    const { throttle } = memoryThrottle();
    const ip = '203.0.113.9';
    const admissions = await Promise.all(Array.from({ length: 20 }, () => throttle.admit('alice', ip)));
    const admitted = admittedOf(admissions);
    expect(admitted).toHaveLength(5);
    await Promise.all(admitted.map((a) => throttle.succeed('alice', a)));
    const fresh = await throttle.admit('alice', ip);
    expect(fresh.throttled).toBe(false);
    if (!fresh.throttled) await throttle.succeed('alice', fresh);
    // The address's budget is whole: 99 failures from other accounts leave it open, the 100th
    // (the default limit) locks it.
    for (let i = 0; i < 99; i++) expect(await throttle.fail(`user${i}`, ip)).toEqual([]);
    expect(await throttle.check('someone', ip)).toEqual({ throttled: false });
    expect(await throttle.fail('user99', ip)).toEqual(['ip']);
  });

  test('an attempt refused while admitted ones are in flight is told to retry in 1 second', async () => {
    const { throttle } = memoryThrottle();
    const ip = '203.0.113.9';
    const admissions = await Promise.all(Array.from({ length: 6 }, () => throttle.admit('alice', ip)));
    expect(admittedOf(admissions)).toHaveLength(5);
    expect(admissions.filter((a) => a.throttled)).toEqual([
      { throttled: true, scope: 'account', retryAfterSeconds: 1 },
    ]);
    expect(await throttle.check('alice', ip)).toEqual({ throttled: false });
  });

  test("once a lockout runs, a refused attempt is told the lockout's remaining time, not 1 second", async () => {
    const { clock, throttle } = memoryThrottle();
    const ip = '203.0.113.9';
    const admissions = await Promise.all(Array.from({ length: 5 }, () => throttle.admit('alice', ip)));
    expect(admittedOf(admissions)).toHaveLength(5);
    const lockouts = await Promise.all(admissions.map(() => throttle.fail('alice', ip, { admitted: true })));
    expect(lockouts.flat()).toEqual(['account']);
    clock.advance(5 * 60_000);
    expect(await throttle.admit('alice', ip)).toEqual({
      throttled: true,
      scope: 'account',
      retryAfterSeconds: 10 * 60,
    });
  });

  test("a later attempt refused meanwhile never lowers an earlier attempt's count: at most the limit are in flight", async () => {
    // Regression: admit counted its place, then read the give-backs — and subtracted those of
    // attempts counted *after* it. Forced: attempt A is held right after its first touch of the
    // account's places while B and C are counted, refused and give back; then A goes on.
    const clock = manualClock();
    const base = createMemoryStore({ clock, sweepIntervalMs: 0 }).counters;
    let hold: { key: string; reached: () => void; released: Promise<void> } | null = null;
    const counters: CounterStore = {
      increment: async (key, windowMs, now) => {
        const state = await base.increment(key, windowMs, now);
        await held(key);
        return state;
      },
      get: async (key, now) => {
        const state = await base.get(key, now);
        await held(key);
        return state;
      },
      reset: (key) => base.reset(key),
    };
    async function held(key: string) {
      if (!hold || hold.key !== key) return;
      const { reached, released } = hold;
      hold = null;
      reached();
      await released;
    }
    const throttle = createThrottle({ counters, clock });
    const ip = '203.0.113.9';
    const inFlight = admittedOf(
      await Promise.all(Array.from({ length: 5 }, () => throttle.admit('alice', ip))),
    );
    expect(inFlight).toHaveLength(5);
    let release!: () => void;
    const atHold = new Promise<void>((reached) => {
      hold = { key: 'fail:acct:alice', reached, released: new Promise<void>((r) => (release = r)) };
    });
    const a = throttle.admit('alice', ip);
    await atHold;
    const others = await Promise.all([throttle.admit('alice', ip), throttle.admit('alice', ip)]);
    expect(others.every((o) => o.throttled)).toBe(true);
    release();
    expect((await a).throttled).toBe(true);
  });

  test('give-backs of an earlier window never cancel failures of a later one (same window end)', async () => {
    // Regression: after a burst settled as successes, the account's give-backs outlived the reset
    // of its count and, under a clock that had not moved, let 20 guesses through instead of 5.
    const { throttle } = memoryThrottle();
    const ip = '203.0.113.9';
    const burst = admittedOf(
      await Promise.all(Array.from({ length: 20 }, () => throttle.admit('alice', ip))),
    );
    await Promise.all(burst.map((a) => throttle.succeed('alice', a)));
    let guesses = 0;
    for (let i = 0; i < 30; i++) {
      const admission = await throttle.admit('alice', ip);
      if (admission.throttled) break;
      guesses++;
      await throttle.fail('alice', ip, { admitted: true });
    }
    expect(guesses).toBe(5);
  });

  test('one wrong password among many correct sign-ins in flight starts no lockout: only confirmed failures count', async () => {
    // Regression: a failure counted every place held by attempts still in flight as a failure, so
    // one typo among 100 concurrent correct sign-ins from one address locked the address out.
    const { throttle } = memoryThrottle();
    const ip = '203.0.113.9';
    const admissions = admittedOf(
      await Promise.all(Array.from({ length: 100 }, (_, i) => throttle.admit(`user${i}`, ip))),
    );
    expect(admissions).toHaveLength(100);
    expect(await throttle.fail('user0', ip, { admitted: true })).toEqual([]);
    await Promise.all(admissions.slice(1).map((a, i) => throttle.succeed(`user${i + 1}`, a)));
    expect(await throttle.check('someone', ip)).toEqual({ throttled: false });
    // And on one account: one wrong password while four correct ones are in flight.
    const alice = admittedOf(await Promise.all(Array.from({ length: 5 }, () => throttle.admit('alice', ip))));
    expect(await throttle.fail('alice', ip, { admitted: true })).toEqual([]);
    expect(await throttle.check('alice', ip)).toEqual({ throttled: false });
    await Promise.all(alice.slice(1).map((a) => throttle.succeed('alice', a)));
  });
});
