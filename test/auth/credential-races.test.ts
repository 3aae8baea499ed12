import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
import { resolveAuth } from '../../packages/cloakroom/src/adapters/shared/auth-state.js';
import {
  type AccountDeps,
  changePassword,
  createUser,
  lockUser,
  resetPassword,
  revokeAllSessions,
  signOutOthers,
  unlockUser,
} from '../../packages/cloakroom/src/auth/accounts/index.js';
import { signIn } from '../../packages/cloakroom/src/auth/sign-in.js';
import { createThrottle } from '../../packages/cloakroom/src/auth/throttle.js';
import type { CounterStore, UserStore } from '../../packages/cloakroom/src/auth/types.js';
import { systemClock } from '../../packages/cloakroom/src/core/clock.js';
import { StoreError } from '../../packages/cloakroom/src/core/errors.js';
import type { Session } from '../../packages/cloakroom/src/core/session.js';
import { createSessions, type Sessions } from '../../packages/cloakroom/src/core/sessions.js';
import type { SessionStore } from '../../packages/cloakroom/src/core/store.js';
import {
  createMemoryStore,
  createMemoryUserStore,
} from '../../packages/cloakroom/src/stores/memory/index.js';
import { createPostgresStore } from '../../packages/cloakroom/src/stores/postgres/index.js';
import { createRedisStore } from '../../packages/cloakroom/src/stores/redis/index.js';
import { createSqliteStore } from '../../packages/cloakroom/src/stores/sqlite/index.js';
import { passwords } from '../support/auth.js';
import { cookiePair, incoming, SECRET_A } from '../support/core.js';
import { deleteKeys, randomPrefix, requirePostgres, requireRedis } from '../support/services.js';

/*
 * A credential change must end every session it should, even one whose sign-in is in flight at
 * that moment. Each test forces an interleaving instead of hoping for it, by holding the sign-in
 * on a promise at one of two points while the change runs to completion:
 * - before its session is written (the sign-in has read the user and verified the old
 *   password): its last look at the user sees the change, so it ends its own session and
 *   answers "wrong username or password";
 * - after that last look (the change lands just before the answer leaves): it answers success
 *   with a cookie — which must be refused on its first use, because its epoch is stale.
 */

const OLD = 'amber lantern quietly 41';
const NEW = 'copper meadow softly 77';

interface Stores {
  sessions: SessionStore;
  users: UserStore;
  counters: CounterStore;
  close(): Promise<void>;
}

const redis = await requireRedis();
const postgres = await requirePostgres();
afterAll(async () => {
  await redis.close();
  await postgres.drop();
});

const backends: Record<string, () => Promise<Stores>> = {
  memory: async () => {
    const store = createMemoryStore({ sweepIntervalMs: 0 });
    return {
      sessions: store,
      users: createMemoryUserStore(),
      counters: store.counters,
      close: () => store.close(),
    };
  },
  sqlite: async () => {
    const store = createSqliteStore({ path: ':memory:', sweepIntervalMs: 0 });
    return { ...store, close: () => store.close() };
  },
  'redis + postgres': async () => {
    const prefix = randomPrefix();
    const onRedis = createRedisStore({ client: redis, prefix });
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const onPostgres = await createPostgresStore({ pool: postgres.pool, schema, sweepIntervalMs: 0 });
    return {
      sessions: onRedis.sessions,
      counters: onRedis.counters,
      users: onPostgres.users,
      async close() {
        await onRedis.close();
        await deleteKeys(redis, prefix);
        await onPostgres.close();
        await postgres.pool.query(`DROP SCHEMA "${schema}" CASCADE`);
      },
    };
  },
};

/** One pause point: once armed, the next call through `pass()` waits there until `release()`. */
function gate() {
  let armed = false;
  let reached!: () => void;
  let release!: () => void;
  const atGate = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    arm: () => {
      armed = true;
    },
    atGate,
    release,
    async pass() {
      if (!armed) return;
      armed = false;
      reached();
      await released;
    },
  };
}

type Gate = ReturnType<typeof gate>;

interface World {
  account: AccountDeps;
  sessions: Sessions;
  users: UserStore;
  aliceId: string;
  adminId: string;
  /** Held in the session store's `create`, before the sign-in's session is written. */
  beforeWrite: Gate;
  /** Held right after the sign-in's last look at the user. */
  afterLastLook: Gate;
  signInAlice(): ReturnType<typeof signIn>;
  /** The user the cookie of a sign-in resolves to on its next request, and why not. */
  use(cookie: string): Promise<{ userId: string | null; reason: string | null }>;
  /** How many session records of alice the store holds (stale ones included). */
  stored(): Promise<number>;
  /** While on, the session store fails every "end all sessions of a user" (a store outage mid-change). */
  failRevocation(on: boolean): void;
}

async function world(stores: Stores): Promise<World> {
  const beforeWrite = gate();
  const afterLastLook = gate();
  const heldSessions: SessionStore = Object.create(stores.sessions);
  heldSessions.create = async (record) => {
    await beforeWrite.pass();
    return stores.sessions.create(record);
  };
  let failRevocation = false;
  heldSessions.deleteByUser = async (userId, exceptId) => {
    if (failRevocation) throw new StoreError('deleteByUser: the store went away', { code: 'unavailable' });
    return stores.sessions.deleteByUser(userId, exceptId);
  };
  // Only the sign-in reads through this one; its getById is the look after the session is made.
  const signInUsers: UserStore = Object.create(stores.users);
  signInUsers.getById = async (id) => {
    const user = await stores.users.getById(id);
    await afterLastLook.pass();
    return user;
  };
  const sessions = createSessions({ secrets: [SECRET_A], store: heldSessions });
  const throttle = createThrottle({ counters: stores.counters });
  const account: AccountDeps = {
    users: stores.users,
    sessions,
    passwords,
    throttle,
    clock: systemClock,
    audit: () => {},
  };
  const alice = await createUser(account, { username: 'alice', password: OLD }, 'test');
  const admin = await createUser(account, { username: 'root', password: OLD, roles: ['admin'] }, 'test');
  if (!alice.ok || !admin.ok) throw new Error('could not create the users');
  return {
    account,
    sessions,
    users: stores.users,
    aliceId: alice.user.id,
    adminId: admin.user.id,
    beforeWrite,
    afterLastLook,
    signInAlice: () =>
      signIn({ sessions, users: signInUsers, passwords, throttle }, incoming({ method: 'POST' }), {
        username: 'alice',
        password: OLD,
        remember: true,
      }),
    async use(cookie) {
      const { state } = await resolveAuth(sessions, stores.users, incoming({ cookie }));
      return { userId: state.user?.id ?? null, reason: state.reason };
    },
    stored: async () => (await stores.sessions.listByUser(alice.user.id, Date.now())).length,
    failRevocation: (on) => {
      failRevocation = on;
    },
  };
}

/** A sign-in as alice with the old password, held at `at` while `change` runs to completion. */
async function signInDuring(w: World, at: Gate, change: () => Promise<unknown>) {
  at.arm();
  const pending = w.signInAlice();
  await at.atGate;
  await change();
  at.release();
  return pending;
}

async function aliceCookie(w: World): Promise<string> {
  const result = await w.signInAlice();
  if (!result.ok) throw new Error('sign-in failed');
  return cookiePair(result.issued.setCookie[0]);
}

async function aliceSession(w: World): Promise<Session> {
  const result = await w.signInAlice();
  if (!result.ok) throw new Error('sign-in failed');
  return result.issued.session;
}

/** A credential change, what a session from before it is refused for, and what stays signed in. */
interface Change {
  name: string;
  /** Runs the change; `other` is a session of alice from before (another device). */
  run(w: World, other: Session): Promise<unknown>;
  /** The reason its first request is refused; then, after `undo`, the reason it still is. */
  refused: string;
  undo?: (w: World) => Promise<unknown>;
  /** Sessions of alice that rightly survive the change (the device that asked keeps its own). */
  kept: number;
}

const CHANGES: Change[] = [
  {
    name: 'a password change by the user, from another session',
    run: async (w, other) =>
      expect(
        await changePassword(w.account, incoming({ method: 'POST' }), other, {
          currentPassword: OLD,
          newPassword: NEW,
        }),
      ).toMatchObject({ ok: true }),
    refused: 'stale',
    kept: 1,
  },
  {
    name: 'an admin locks the account (and the cookie stays dead after the unlock)',
    run: async (w) =>
      expect(await lockUser(w.account, w.aliceId, w.adminId)).toMatchObject({ ok: true, changed: true }),
    refused: 'user-locked',
    undo: async (w) => expect(await unlockUser(w.account, w.aliceId, w.adminId)).toMatchObject({ ok: true }),
    kept: 0,
  },
  {
    name: 'an admin resets the password',
    run: async (w) => expect((await resetPassword(w.account, w.aliceId, NEW, w.adminId)).ok).toBe(true),
    refused: 'stale',
    kept: 0,
  },
  {
    name: '"sign out everywhere else" from another session',
    run: async (w, other) =>
      expect((await signOutOthers(w.account, incoming({ method: 'POST' }), other)).ok).toBe(true),
    refused: 'stale',
    kept: 1,
  },
  {
    name: "an admin ends all of the user's sessions",
    run: async (w) => expect((await revokeAllSessions(w.account, w.aliceId, w.adminId)).ok).toBe(true),
    refused: 'stale',
    kept: 0,
  },
];

for (const [name, open] of Object.entries(backends)) {
  describe(`a credential change ends a sign-in that is in flight (${name})`, () => {
    const run = (title: string, body: (w: World) => Promise<void>) =>
      test(title, async () => {
        const stores = await open();
        try {
          await body(await world(stores));
        } finally {
          await stores.close();
        }
      });

    run(
      'control: with no change meanwhile, a held sign-in gets a working session, at either point',
      async (w) => {
        for (const at of [w.beforeWrite, w.afterLastLook]) {
          const result = await signInDuring(w, at, async () => {});
          if (!result.ok) throw new Error(`sign-in failed: ${result.error}`);
          expect(await w.use(cookiePair(result.issued.setCookie[0]))).toEqual({
            userId: w.aliceId,
            reason: null,
          });
        }
      },
    );

    run('a sign-in after a change gets the epoch of the change: its session works', async (w) => {
      expect((await revokeAllSessions(w.account, w.aliceId, w.adminId)).ok).toBe(true);
      expect((await w.users.getById(w.aliceId))?.epoch).toBe(1);
      const result = await signInDuring(w, w.afterLastLook, async () => {});
      if (!result.ok) throw new Error(`sign-in failed: ${result.error}`);
      expect(await w.use(cookiePair(result.issued.setCookie[0]))).toEqual({
        userId: w.aliceId,
        reason: null,
      });
    });

    for (const change of CHANGES) {
      run(
        `${change.name}, while the sign-in is about to write its session: it answers "wrong username or password" and leaves no session`,
        async (w) => {
          const other = await aliceSession(w);
          const result = await signInDuring(w, w.beforeWrite, () => change.run(w, other));
          expect(result).toMatchObject({ ok: false, error: 'invalid_credentials' });
          expect(await w.stored()).toBe(change.kept);
        },
      );

      run(`${change.name}, just after the sign-in's last look: its session is gone`, async (w) => {
        // The change ends the sessions after advancing the epoch, so it ends this one too.
        const other = await aliceSession(w);
        const result = await signInDuring(w, w.afterLastLook, () => change.run(w, other));
        if (!result.ok) throw new Error(`sign-in failed: ${result.error}`);
        const cookie = cookiePair(result.issued.setCookie[0]);
        expect((await w.use(cookie)).userId).toBeNull();
        await change.undo?.(w);
        expect((await w.use(cookie)).userId).toBeNull();
        expect(await w.stored()).toBe(change.kept);
      });

      run(
        `${change.name}, when ending the sessions fails midway: every session from before is refused all the same`,
        async (w) => {
          // The epoch moved before the store failed: the sessions it could not delete are dead too.
          const victim = await aliceCookie(w);
          const other = await aliceSession(w);
          w.failRevocation(true);
          await expect(change.run(w, other)).rejects.toThrow(StoreError);
          w.failRevocation(false);
          const stored = await w.stored();
          expect(await w.use(victim)).toEqual({ userId: null, reason: change.refused });
          if (change.undo) {
            await change.undo(w);
            expect(await w.use(victim)).toEqual({ userId: null, reason: 'stale' });
          }
          // A stale session is not only refused: its record is deleted on the spot.
          expect(await w.stored()).toBe(stored - 1);
        },
      );
    }
  });
}
