import { type Clock, systemClock } from '../core/clock.js';
import { type Duration, parseDuration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { throttleKeyOfIp } from './ip.js';
import type { CounterStore } from './types.js';

/** One limit: `failures` within `window` start a lockout. */
export interface ThrottleLimit {
  failures: number;
  window: Duration;
}

export interface ThrottleOptions {
  counters: CounterStore;
  /** Default: the system clock. */
  clock?: Clock;
  /** Per account (canonical username). Default 5 in 15 minutes. */
  account?: ThrottleLimit;
  /** Per client address (IPv6 by /64). Default 100 in 15 minutes. */
  ip?: ThrottleLimit;
  /** Longest lockout, however often it repeats. Default `24h`. */
  maxLockout?: Duration;
}

export type ThrottleVerdict =
  | { throttled: false }
  | { throttled: true; retryAfterSeconds: number; scope: 'account' | 'ip' };

/**
 * Sign-in throttling in the counter store, so every instance agrees. Past the limit a
 * lockout starts that lasts one window; each further lockout within a day doubles it, up to
 * `maxLockout`. While locked, every attempt is refused before the password is looked at.
 * Unknown usernames are counted exactly like real ones.
 */
export interface Throttle {
  /** Whether a lockout is running for the account or the address. Counts nothing. */
  check(username: string, ip: string | null): Promise<ThrottleVerdict>;
  /**
   * `check`, then counts this attempt on the account *before* its password is verified.
   * With check-then-count, N concurrent guesses would all pass `check` before the first
   * failure is recorded; counting first admits at most the limit. Pair with
   * `fail(…, { admitted: true })` on failure and `succeed` on success.
   */
  admit(username: string, ip: string | null): Promise<ThrottleVerdict>;
  /** Records a failure; returns the scopes that a lockout just started for. */
  fail(
    username: string,
    ip: string | null,
    options?: { admitted?: boolean },
  ): Promise<Array<'account' | 'ip'>>;
  /** Clears the account's failure count after a successful sign-in. */
  succeed(username: string): Promise<void>;
}

const DAY_MS = 86_400_000;

export function createThrottle(options: ThrottleOptions): Throttle {
  const { counters } = options;
  const clock = options.clock ?? systemClock;
  const resolve = (limit: ThrottleLimit | undefined, fallback: number, name: string) => {
    const failures = limit?.failures ?? fallback;
    if (!Number.isInteger(failures) || failures < 1)
      throw new ConfigError(`${name}.failures`, 'must be a whole number ≥ 1');
    return { failures, windowMs: parseDuration(limit?.window ?? '15m', `${name}.window`) };
  };
  const scopes = {
    account: resolve(options.account, 5, 'throttle.account'),
    ip: resolve(options.ip, 100, 'throttle.ip'),
  };
  const maxLockMs = parseDuration(options.maxLockout ?? '24h', 'throttle.maxLockout');
  const keysOf = (username: string, ip: string | null) => ({
    account: `acct:${username}`,
    ip: `ip:${throttleKeyOfIp(ip)}`,
  });

  async function strike(
    scope: 'account' | 'ip',
    key: string,
    now: number,
    counted = false,
  ): Promise<boolean> {
    const { failures, windowMs } = scopes[scope];
    const count = counted
      ? await counters.get(`fail:${key}`, now)
      : await counters.increment(`fail:${key}`, windowMs, now);
    if (count === null || count.count < failures) return false;
    // Concurrent failures can all see the limit reached: only one starts (and escalates) a lockout.
    if (await counters.get(`block:${key}`, now)) return false;
    const strikes = await counters.increment(`strikes:${key}`, DAY_MS, now);
    const lockMs = Math.min(windowMs * 2 ** Math.min(strikes.count - 1, 20), maxLockMs);
    await counters.increment(`block:${key}`, lockMs, now);
    await counters.reset(`fail:${key}`);
    return true;
  }

  async function check(username: string, ip: string | null): Promise<ThrottleVerdict> {
    const now = clock.now();
    const keys = keysOf(username, ip);
    const [account, byIp] = await Promise.all([
      counters.get(`block:${keys.account}`, now),
      counters.get(`block:${keys.ip}`, now),
    ]);
    const blocked = account
      ? { state: account, scope: 'account' as const }
      : byIp
        ? { state: byIp, scope: 'ip' as const }
        : null;
    if (!blocked) return { throttled: false };
    return {
      throttled: true,
      scope: blocked.scope,
      retryAfterSeconds: Math.max(1, Math.ceil((blocked.state.resetAt - now) / 1000)),
    };
  }

  return {
    check,
    async admit(username, ip) {
      const verdict = await check(username, ip);
      if (verdict.throttled) return verdict;
      const now = clock.now();
      const { failures, windowMs } = scopes.account;
      const tries = await counters.increment(`fail:${keysOf(username, ip).account}`, windowMs, now);
      if (tries.count <= failures) return { throttled: false };
      return {
        throttled: true,
        scope: 'account',
        retryAfterSeconds: Math.max(1, Math.ceil((tries.resetAt - now) / 1000)),
      };
    },
    async fail(username, ip, { admitted = false } = {}) {
      const now = clock.now();
      const keys = keysOf(username, ip);
      const started: Array<'account' | 'ip'> = [];
      if (await strike('account', keys.account, now, admitted)) started.push('account');
      if (await strike('ip', keys.ip, now)) started.push('ip');
      return started;
    },
    async succeed(username) {
      await counters.reset(`fail:${keysOf(username, null).account}`);
    },
  };
}
