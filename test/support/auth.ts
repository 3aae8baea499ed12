import { createPasswordHasher, type PasswordHasher } from '../../packages/cloakroom/src/auth/passwords.js';
import { type SignInDeps, type SignInResult, signIn } from '../../packages/cloakroom/src/auth/sign-in.js';
import {
  createThrottle,
  type Throttle,
  type ThrottleOptions,
} from '../../packages/cloakroom/src/auth/throttle.js';
import type { UserRecord, UserStore } from '../../packages/cloakroom/src/auth/types.js';
import { usernameSkeleton } from '../../packages/cloakroom/src/auth/usernames.js';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { createSessions, type Sessions } from '../../packages/cloakroom/src/core/sessions.js';
import {
  createMemoryStore,
  createMemoryUserStore,
  type MemoryStore,
} from '../../packages/cloakroom/src/stores/memory/index.js';
import { incoming, SECRET_A } from './core.js';

/**
 * One hasher per test process: real argon2id at the default (OWASP) parameters. Sharing it
 * means its dummy hash (for unknown users) is computed once, not once per test.
 */
export const passwords: PasswordHasher = createPasswordHasher();

/** Throttle limits and a user store to use instead of the defaults. */
export interface AuthHarnessOptions {
  throttle?: Omit<ThrottleOptions, 'counters' | 'clock'>;
  users?: UserStore;
}

export interface AuthHarness {
  deps: SignInDeps;
  sessions: Sessions;
  /** Sessions and throttling counters live here. */
  store: MemoryStore;
  users: UserStore;
  throttle: Throttle;
  clock: ManualClock;
  /** Signs in from `ip` (default 203.0.113.10), as a POST of the login form would. */
  signInAs(username: unknown, password: unknown, ip?: string, remember?: unknown): Promise<SignInResult>;
  /** Creates a user whose stored hash is exactly `passwordHash` (to seed legacy hashes). */
  seed(username: string, passwordHash: string, locked?: boolean): Promise<UserRecord>;
}

/** The whole sign-in path on real parts: memory store and counters, real argon2, a manual clock. */
export function authHarness(options: AuthHarnessOptions = {}): AuthHarness {
  const clock = manualClock();
  const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
  const users = options.users ?? createMemoryUserStore();
  const sessions = createSessions({ secrets: [SECRET_A], store, clock });
  const throttle = createThrottle({ ...options.throttle, counters: store.counters, clock });
  const deps: SignInDeps = { sessions, users, passwords, throttle, clock };
  return {
    deps,
    sessions,
    store,
    users,
    throttle,
    clock,
    signInAs(username, password, ip = '203.0.113.10', remember) {
      const input = remember === undefined ? { username, password } : { username, password, remember };
      return signIn(deps, incoming({ method: 'POST', ip }), input);
    },
    seed(username, passwordHash, locked = false) {
      return users.create(
        {
          username,
          usernameKey: usernameSkeleton(username),
          displayName: username,
          passwordHash,
          roles: [],
          locked,
        },
        clock.now(),
      );
    },
  };
}

/** The median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
