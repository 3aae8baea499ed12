import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AccountDeps,
  beginTotpEnrolment,
  confirmTotpEnrolment,
  createUser,
} from '../../packages/cloakroom/src/auth/accounts/index.js';
import type { AccountEvent, AuditFields } from '../../packages/cloakroom/src/auth/audit.js';
import { createSecondFactor } from '../../packages/cloakroom/src/auth/second-factor/factor.js';
import { totpCodeAt } from '../../packages/cloakroom/src/auth/second-factor/totp.js';
import { type SignInResult, signIn } from '../../packages/cloakroom/src/auth/sign-in.js';
import { createThrottle, type ThrottleOptions } from '../../packages/cloakroom/src/auth/throttle.js';
import type { CounterStore, UserRecord, UserStore } from '../../packages/cloakroom/src/auth/types.js';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import type { IncomingRequest } from '../../packages/cloakroom/src/core/request.js';
import type { Session } from '../../packages/cloakroom/src/core/session.js';
import { createSessions, type Sessions } from '../../packages/cloakroom/src/core/sessions.js';
import type { SessionStore } from '../../packages/cloakroom/src/core/store.js';
import {
  createMemoryStore,
  createMemoryUserStore,
} from '../../packages/cloakroom/src/stores/memory/index.js';
import { createSqliteStore } from '../../packages/cloakroom/src/stores/sqlite/index.js';
import { passwords } from '../support/auth.js';
import { cookiePair, incoming, SECRET_A } from '../support/core.js';

/*
 * The second-factor suites' parts, all real: memory or SQLite stores, real argon2, the library's
 * own use cases, and one manual clock that the TOTP windows, the pending state and the re-auth
 * window all read, so tests step time instead of sleeping.
 */

export const PASSWORD = 'amber lantern quietly 41';
export const NEW_PASSWORD = 'copper meadow softly 77';
export const STEP = 30_000;

export type Backend = 'memory' | 'sqlite';
export const BACKENDS: Backend[] = ['memory', 'sqlite'];

/** The three stores one instance uses. */
export interface Stores {
  sessions: SessionStore;
  users: UserStore;
  counters: CounterStore;
  close(): Promise<void>;
}

/** Stores on one backend; a SQLite file can be opened again by {@link reopen} (a second instance). */
export function openStores(backend: Backend, clock: ManualClock): Stores & { reopen(): Stores } {
  if (backend === 'memory') {
    const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
    const stores = { sessions: store, users: createMemoryUserStore(), counters: store.counters };
    // Another instance on a memory store is the same process's store: it shares everything.
    return { ...stores, close: () => store.close(), reopen: () => ({ ...stores, close: async () => {} }) };
  }
  const path = join(tmpdir(), `cloakroom-2fa-${randomBytes(6).toString('hex')}.db`);
  const open = (): Stores => {
    const store = createSqliteStore({ path, clock, sweepIntervalMs: 0 });
    return {
      sessions: store.sessions,
      users: store.users,
      counters: store.counters,
      close: () => store.close(),
    };
  };
  const first = open();
  const others: Stores[] = [];
  return {
    ...first,
    reopen() {
      const other = open();
      others.push(other);
      return other;
    },
    async close() {
      for (const other of others) await other.close();
      await first.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
    },
  };
}

/** One "instance": its own sessions, throttle and second factor over the given stores. */
export interface Instance {
  deps: AccountDeps;
  sessions: Sessions;
  events: Array<{ event: AccountEvent } & AuditFields>;
}

export interface InstanceOptions {
  secrets?: readonly string[];
  throttle?: Omit<ThrottleOptions, 'counters' | 'clock'>;
}

export function instance(stores: Stores, clock: ManualClock, options: InstanceOptions = {}): Instance {
  const secrets = options.secrets ?? [SECRET_A];
  const sessions = createSessions({ secrets, store: stores.sessions, clock });
  const throttle = createThrottle({ ...options.throttle, counters: stores.counters, clock });
  const events: Instance['events'] = [];
  const deps: AccountDeps = {
    users: stores.users,
    sessions,
    passwords,
    throttle,
    clock,
    audit: (event, fields) => events.push({ event, ...fields }),
    secondFactor: createSecondFactor({ secrets, counters: stores.counters }),
  };
  return { deps, sessions, events };
}

/** A user enrolled in TOTP: the key as the app holds it, the codes shown once, a session. */
export interface Enrolled {
  user: UserRecord;
  key: string;
  recoveryCodes: string[];
  session: Session;
}

export interface Harness extends Instance {
  clock: ManualClock;
  stores: ReturnType<typeof openStores>;
  addUser(username: string): Promise<UserRecord>;
  /** The first step: username and password. */
  passwordStep(username: string, password?: string, into?: Instance): Promise<SignInResult>;
  /** A session by password alone (a user without a second factor). */
  signedIn(username: string): Promise<Session>;
  /** Creates, signs in, enrols and confirms a user; the clock then moves on five steps. */
  enrol(username: string): Promise<Enrolled>;
  /** The code the user's app shows `steps` steps from now. */
  code(key: string, steps?: number): string;
  /** A request that carries the pending cookie of a first step. */
  withPending(setCookie: readonly string[]): IncomingRequest;
  /** A pending state for a user, as a correct password would have issued it (no argon2). */
  pendingFor(user: UserRecord, into?: Instance): IncomingRequest;
  close(): Promise<void>;
}

export function harness(backend: Backend = 'memory', options: InstanceOptions = {}): Harness {
  const clock = manualClock();
  // Mid-step, so "one step earlier" is not also the edge of a step.
  clock.advance(12_000);
  const stores = openStores(backend, clock);
  const main = instance(stores, clock, options);
  const { deps } = main;

  const passwordStep: Harness['passwordStep'] = (username, password = PASSWORD, into = main) =>
    signIn(into.deps, incoming({ method: 'POST', ip: '203.0.113.10' }), { username, password });
  const withPending = (setCookie: readonly string[]) =>
    incoming({ method: 'POST', ip: '203.0.113.10', cookie: cookiePair(setCookie[0]) });

  const h: Harness = {
    ...main,
    clock,
    stores,
    async addUser(username) {
      const result = await createUser(deps, { username, password: PASSWORD }, 'test');
      if (!result.ok) throw new Error(result.message);
      return result.user;
    },
    passwordStep,
    async signedIn(username) {
      const result = await passwordStep(username);
      if (!result.ok) throw new Error(`sign-in of ${username}: ${result.error}`);
      return result.issued.session;
    },
    async enrol(username) {
      await h.addUser(username);
      const session = await h.signedIn(username);
      const begun = await beginTotpEnrolment(deps, session);
      if (!begun.ok) throw new Error(`begin: ${begun.error}`);
      const confirmed = await confirmTotpEnrolment(deps, incoming({ method: 'POST' }), session, {
        code: totpCodeAt(begun.secret, clock.now()),
      });
      if (!confirmed.ok) throw new Error(`confirm: ${confirmed.error}`);
      clock.advance(5 * STEP);
      const user = (await deps.users.getById(session.userId))!;
      return {
        user,
        key: begun.secret,
        recoveryCodes: confirmed.recoveryCodes,
        session: confirmed.issued.session,
      };
    },
    code: (key, steps = 0) => totpCodeAt(key, clock.now() + steps * STEP),
    withPending,
    pendingFor(user, into = main) {
      const { setCookie } = into.sessions.issuePending(incoming({ method: 'POST' }), {
        userId: user.id,
        epoch: user.epoch,
        remember: false,
        methods: ['pwd'],
      });
      return withPending(setCookie);
    },
    close: () => stores.close(),
  };
  return h;
}
