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
 * An attempt `admit` let through. It holds a place in its address's failure count until it is
 * settled: a failure keeps it, `succeed(username, admitted)` gives it back.
 */
export interface Admitted {
  throttled: false;
  /**
   * The address's counter key and the end of the window the place was taken in; the same for
   * the account (`accountWindowEnd`), for {@link Throttle.release}.
   */
  reservation: { readonly ipKey: string; readonly windowEnd: number; readonly accountWindowEnd?: number };
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
   * Records a confirmed failure; returns the scopes that a lockout just started for. Only
   * confirmed failures start a lockout: attempts still in flight never do. With `admitted: true`
   * the attempt already holds its places (from `admit`); without, it takes them now.
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
   * An admitted attempt whose password was never checked (the password hasher refused it as
   * busy): gives back both places it took, and counts nothing. It neither fails nor succeeds: the
   * account's failures stay as they were, so a flood of refused attempts can neither use up an
   * account's budget (locking its owner out) nor clear it (letting a guesser go on).
   */
  release(username: string, admitted: Admitted): Promise<void>;
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

  /*
   * Three counters per scope key:
   * - `fail:<key>` places: every attempt takes one before its password is checked (admission);
   * - `ok:<key>:<window end>` places given back: by a successful sign-in (the address) and by an
   *   attempt the throttle refused (both scopes) — neither is a failure;
   * - `bad:<key>` confirmed failures: only these start a lockout, so one wrong password among
   *   many correct sign-ins in flight never locks anyone out.
   */

  /**
   * Takes a place and answers how many places are held (in flight or failed), this one included.
   * The give-backs are read *before* the place is taken: only attempts counted earlier can have
   * given back by then, so a later attempt's refusal never lowers this attempt's count (which
   * would let one more guess through than the limit).
   */
  async function takePlace(scope: 'account' | 'ip', key: string, now: number) {
    const before = await counters.get(`fail:${key}`, now);
    const returned = before ? ((await counters.get(`ok:${key}:${before.resetAt}`, now))?.count ?? 0) : 0;
    const state = await counters.increment(`fail:${key}`, scopes[scope].windowMs, now);
    if (state.count === 1) {
      // A fresh window: give-backs under its end can only be left from an earlier window that
      // ended in the same millisecond; they must not cancel this window's places.
      await counters.reset(`ok:${key}:${state.resetAt}`);
      return { state, held: 1 };
    }
    return { state, held: state.count - (before?.resetAt === state.resetAt ? returned : 0) };
  }

  /** Gives back one place taken in the window ending at `windowEnd` (a window that ended took its places with it). */
  async function giveBack(key: string, windowEnd: number, now: number): Promise<void> {
    if (windowEnd > now) await counters.increment(`ok:${key}:${windowEnd}`, windowEnd - now, now);
  }

  /** Records a confirmed failure; starts a lockout if it reaches the limit. */
  async function strike(scope: 'account' | 'ip', key: string, now: number): Promise<boolean> {
    const { failures, windowMs } = scopes[scope];
    const bad = await counters.increment(`bad:${key}`, windowMs, now);
    if (bad.count < failures) return false;
    if (await counters.get(`block:${key}`, now)) return false;
    // Concurrent failures can all see the limit reached: only the first to claim this window
    // starts (and escalates) a lockout. `increment` is atomic in every store, so exactly one
    // claim counts 1, on any number of instances.
    const claim = await counters.increment(`lock:${key}:${bad.resetAt}`, bad.resetAt - now, now);
    if (claim.count > 1) return false;
    const strikes = await counters.increment(`strikes:${key}`, DAY_MS, now);
    const lockMs = Math.min(windowMs * 2 ** Math.min(strikes.count - 1, 20), maxLockMs);
    await counters.increment(`block:${key}`, lockMs, now);
    await counters.reset(`bad:${key}`);
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
        takePlace('account', keys.account, now),
        takePlace('ip', keys.ip, now),
      ]);
      const over =
        account.held > scopes.account.failures
          ? ('account' as const)
          : byIp.held > scopes.ip.failures
            ? ('ip' as const)
            : null;
      if (!over) {
        return {
          throttled: false,
          reservation: {
            ipKey: keys.ip,
            windowEnd: byIp.state.resetAt,
            accountWindowEnd: account.state.resetAt,
          },
        };
      }
      // A refused attempt is not a failure: both places go back, so a burst of correct sign-ins
      // (or of refusals) can never use up a budget or start a lockout by itself. No lockout is
      // running (`check` said so): the count is over only while admitted attempts are in flight,
      // and they settle within a verification's time, so the client may retry in a second.
      await Promise.all([
        giveBack(keys.account, account.state.resetAt, now),
        giveBack(keys.ip, byIp.state.resetAt, now),
      ]);
      return { throttled: true, scope: over, retryAfterSeconds: 1 };
    },
    async fail(username, ip, { admitted = false } = {}) {
      const now = clock.now();
      const keys = keysOf(username, ip);
      if (!admitted) {
        // An attempt `admit` did not count: it takes its places now (a failure keeps them).
        await Promise.all([takePlace('account', keys.account, now), takePlace('ip', keys.ip, now)]);
      }
      const started: Array<'account' | 'ip'> = [];
      if (await strike('account', keys.account, now)) started.push('account');
      if (await strike('ip', keys.ip, now)) started.push('ip');
      return started;
    },
    async succeed(username, admitted) {
      const key = keysOf(username, null).account;
      await Promise.all([counters.reset(`fail:${key}`), counters.reset(`bad:${key}`)]);
      if (!admitted) return;
      const { ipKey, windowEnd } = admitted.reservation;
      await giveBack(ipKey, windowEnd, clock.now());
    },
    async release(username, admitted) {
      const now = clock.now();
      const { ipKey, windowEnd, accountWindowEnd } = admitted.reservation;
      await Promise.all([
        accountWindowEnd === undefined
          ? Promise.resolve()
          : giveBack(keysOf(username, null).account, accountWindowEnd, now),
        giveBack(ipKey, windowEnd, now),
      ]);
    },
    async clear(username) {
      const key = keysOf(username, null).account;
      const lockedOut = (await counters.get(`block:${key}`, clock.now())) !== null;
      for (const kind of ['fail', 'bad', 'block', 'strikes']) await counters.reset(`${kind}:${key}`);
      return lockedOut;
    },
  };
}
