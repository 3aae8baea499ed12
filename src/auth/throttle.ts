import { type Clock, systemClock } from '../core/clock.js';
import { type Duration, parseDuration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { throttleKeyOfIp } from './ip.js';
import type { CounterState, CounterStore } from './types.js';

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
 * An attempt `admit` let through. It holds a place in its address's failure count until it is
 * settled: a failure keeps it, `succeed(username, admitted)` gives it back.
 */
export interface Admitted {
  throttled: false;
  /** The address's counter key and the end of the window the place was taken in. */
  reservation: { readonly ipKey: string; readonly windowEnd: number };
}

/** What `admit` answers. */
export type Admission = Admitted | Extract<ThrottleVerdict, { throttled: true }>;

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
   * `check`, then counts this attempt on the account and on the address *before* its password
   * is verified. With check-then-count, N concurrent guesses would all pass `check` before the
   * first failure is recorded (and each costs an argon2 verification); counting first admits at
   * most the limit of each. An attempt refused because admitted ones are in flight gives its
   * places back at once and gets `retryAfterSeconds: 1` (a refusal is not a failure). Pair with
   * `fail(…, { admitted: true })` on failure and `succeed(username, admission)` on success.
   */
  admit(username: string, ip: string | null): Promise<Admission>;
  /**
   * Records a failure; returns the scopes that a lockout just started for. With
   * `admitted: true` the attempt is already counted (by `admit`) on the account and the address.
   */
  fail(
    username: string,
    ip: string | null,
    options?: { admitted?: boolean },
  ): Promise<Array<'account' | 'ip'>>;
  /**
   * After a successful sign-in: clears the account's failure count and gives back the place
   * `admitted` took in its address's count (a success is not a failure). Without `admitted`
   * the address keeps counting the attempt.
   */
  succeed(username: string, admitted?: Admitted): Promise<void>;
  /**
   * An operator lifting an account's lockout (`cloakroom user unlock`): clears its failure
   * count, a running lockout and the lockout escalation. Per-address counters stay: they are
   * not this account's. Resolves `true` if a lockout was running.
   */
  clear(username: string): Promise<boolean>;
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

  /**
   * A scope's count less the places given back: by successful sign-ins (the address) and by
   * attempts the throttle refused (both scopes), which are not failures. Give-backs are kept under
   * a key of their own per window (`ok:<key>:<window end>`): a give-back can only cancel a place
   * taken in the same window, never a later window's failures.
   */
  async function failuresOf(key: string, count: CounterState, now: number): Promise<number> {
    const returned = await counters.get(`ok:${key}:${count.resetAt}`, now);
    return count.count - (returned?.count ?? 0);
  }

  /** Gives back one place taken in the window ending at `windowEnd` (a window that ended took its places with it). */
  async function giveBack(key: string, windowEnd: number, now: number): Promise<void> {
    if (windowEnd > now) await counters.increment(`ok:${key}:${windowEnd}`, windowEnd - now, now);
  }

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
    if (count === null) return false;
    const failed = await failuresOf(key, count, now);
    if (failed < failures) return false;
    if (await counters.get(`block:${key}`, now)) return false;
    // Concurrent failures can all see the limit reached (admitted ones read one shared count):
    // only the first to claim this window starts (and escalates) a lockout. `increment` is
    // atomic in every store, so exactly one claim counts 1, on any number of instances.
    const claim = await counters.increment(`lock:${key}:${count.resetAt}`, count.resetAt - now, now);
    if (claim.count > 1) return false;
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
      const keys = keysOf(username, ip);
      // Both places are taken at once, before the password is looked at.
      const [account, byIp] = await Promise.all([
        counters.increment(`fail:${keys.account}`, scopes.account.windowMs, now),
        counters.increment(`fail:${keys.ip}`, scopes.ip.windowMs, now),
      ]);
      const over =
        (await failuresOf(keys.account, account, now)) > scopes.account.failures
          ? ('account' as const)
          : (await failuresOf(keys.ip, byIp, now)) > scopes.ip.failures
            ? ('ip' as const)
            : null;
      if (!over) return { throttled: false, reservation: { ipKey: keys.ip, windowEnd: byIp.resetAt } };
      // A refused attempt is not a failure: both places go back, so a burst of correct sign-ins
      // (or of refusals) can never use up a budget or start a lockout by itself. No lockout is
      // running (`check` said so): the count is over only while admitted attempts are in flight,
      // and they settle within a verification's time, so the client may retry in a second.
      await Promise.all([giveBack(keys.account, account.resetAt, now), giveBack(keys.ip, byIp.resetAt, now)]);
      return { throttled: true, scope: over, retryAfterSeconds: 1 };
    },
    async fail(username, ip, { admitted = false } = {}) {
      const now = clock.now();
      const keys = keysOf(username, ip);
      const started: Array<'account' | 'ip'> = [];
      if (await strike('account', keys.account, now, admitted)) started.push('account');
      if (await strike('ip', keys.ip, now, admitted)) started.push('ip');
      return started;
    },
    async succeed(username, admitted) {
      await counters.reset(`fail:${keysOf(username, null).account}`);
      if (!admitted) return;
      const { ipKey, windowEnd } = admitted.reservation;
      await giveBack(ipKey, windowEnd, clock.now());
    },
    async clear(username) {
      const key = keysOf(username, null).account;
      const lockedOut = (await counters.get(`block:${key}`, clock.now())) !== null;
      for (const kind of ['fail', 'block', 'strikes']) await counters.reset(`${kind}:${key}`);
      return lockedOut;
    },
  };
}
