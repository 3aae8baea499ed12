import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
import { resolveAuth } from '../../src/adapters/shared/auth-state.js';
import {
  type AccountDeps,
  changePassword,
  createUser,
  listSessions,
  lockUser,
  resetPassword,
  revokeAllSessions,
  signOutOthers,
  unlockUser,
} from '../../src/auth/accounts/index.js';
import type { AccountEvent, AuditFields } from '../../src/auth/audit.js';
import { signIn } from '../../src/auth/sign-in.js';
import { createThrottle } from '../../src/auth/throttle.js';
import type { CounterStore, UserStore } from '../../src/auth/types.js';
import { systemClock } from '../../src/core/clock.js';
import type { Session } from '../../src/core/session.js';
import { createSessions, type Sessions } from '../../src/core/sessions.js';
import type { SessionStore } from '../../src/core/store.js';
import { createMemoryStore, createMemoryUserStore } from '../../src/stores/memory/index.js';
import { createPostgresStore } from '../../src/stores/postgres/index.js';
import { createRedisStore } from '../../src/stores/redis/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { passwords } from '../support/auth.js';
import { cookiePair, incoming, SECRET_A } from '../support/core.js';
import { deleteKeys, randomPrefix, requirePostgres, requireRedis } from '../support/services.js';

/*
 * A credential change must end every session it should, even one whose sign-in is in flight at
 * that moment. Each test forces the worst interleaving instead of hoping for it: the session
 * store's `create` is held on a promise, so the sign-in has read the user and verified the
 * (old) password but not yet written its session when the change runs to completion. Then the
 * sign-in finishes and answers "success" with a cookie — which must be refused on its first use.
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

/** A session store whose next `create` waits until released, telling when it got there. */
function holdNextCreate(store: SessionStore) {
  let armed = false;
  let reached!: () => void;
  let release!: () => void;
  const atCreate = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const held: SessionStore = Object.create(store);
  held.create = async (record) => {
    if (armed) {
      armed = false;
      reached();
      await released;
    }
    return store.create(record);
  };
  return {
    store: held,
    arm: () => {
      armed = true;
    },
    atCreate,
    release,
  };
}

interface World {
  account: AccountDeps;
  sessions: Sessions;
  users: UserStore;
  hold: ReturnType<typeof holdNextCreate>;
  events: Array<{ event: AccountEvent; fields: AuditFields }>;
  aliceId: string;
  adminId: string;
  signInAlice(password?: string): ReturnType<typeof signIn>;
  /** The user the cookie of a sign-in resolves to on its next request, and why not. */
  use(cookie: string): Promise<{ userId: string | null; reason: string | null }>;
}

async function world(stores: Stores): Promise<World> {
  const hold = holdNextCreate(stores.sessions);
  const sessions = createSessions({ secrets: [SECRET_A], store: hold.store });
  const throttle = createThrottle({ counters: stores.counters });
  const events: World['events'] = [];
  const account: AccountDeps = {
    users: stores.users,
    sessions,
    passwords,
    throttle,
    clock: systemClock,
    audit: (event, fields) => events.push({ event, fields }),
  };
  const alice = await createUser(account, { username: 'alice', password: OLD }, 'test');
  const admin = await createUser(account, { username: 'root', password: OLD, roles: ['admin'] }, 'test');
  if (!alice.ok || !admin.ok) throw new Error('could not create the users');
  return {
    account,
    sessions,
    users: stores.users,
    hold,
    events,
    aliceId: alice.user.id,
    adminId: admin.user.id,
    signInAlice: (password = OLD) =>
      signIn({ sessions, users: stores.users, passwords, throttle }, incoming({ method: 'POST' }), {
        username: 'alice',
        password,
        remember: true,
      }),
    async use(cookie) {
      const { state } = await resolveAuth(sessions, stores.users, incoming({ cookie }));
      return { userId: state.user?.id ?? null, reason: state.reason };
    },
  };
}

/** Runs a sign-in as alice with the old password, held just before its session is written, while `change` runs. */
async function signInDuring(w: World, change: () => Promise<unknown>): Promise<string> {
  w.hold.arm();
  const pending = w.signInAlice();
  await w.hold.atCreate;
  await change();
  w.hold.release();
  const result = await pending;
  // The sign-in verified a password that was right when it was checked: it answers success.
  if (!result.ok) throw new Error(`sign-in failed: ${result.error}`);
  return cookiePair(result.issued.setCookie[0]);
}

async function aliceSession(w: World): Promise<Session> {
  const result = await w.signInAlice();
  if (!result.ok) throw new Error('sign-in failed');
  return result.issued.session;
}

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

    run('control: with no change meanwhile, the held sign-in gets a working session', async (w) => {
      const cookie = await signInDuring(w, async () => {});
      expect(await w.use(cookie)).toEqual({ userId: w.aliceId, reason: null });
    });

    run('a sign-in after a change gets the epoch of the change: its session works', async (w) => {
      expect((await revokeAllSessions(w.account, w.aliceId, w.adminId)).ok).toBe(true);
      expect((await w.users.getById(w.aliceId))?.epoch).toBe(1);
      const cookie = await signInDuring(w, async () => {});
      expect(await w.use(cookie)).toEqual({ userId: w.aliceId, reason: null });
    });

    run('a password change by the user, from another session', async (w) => {
      const other = await aliceSession(w);
      const cookie = await signInDuring(w, async () => {
        const changed = await changePassword(w.account, incoming({ method: 'POST' }), other, {
          currentPassword: OLD,
          newPassword: NEW,
        });
        expect(changed.ok).toBe(true);
      });
      expect(await w.use(cookie)).toEqual({ userId: null, reason: 'stale' });
      // Nor is it listed among the user's sessions: only the one that changed the password is.
      expect((await listSessions(w.account, w.aliceId)).length).toBe(1);
    });

    run('an admin locks the account: refused, and still refused after the unlock', async (w) => {
      const cookie = await signInDuring(w, async () => {
        const locked = await lockUser(w.account, w.aliceId, w.adminId);
        expect(locked).toMatchObject({ ok: true, changed: true });
      });
      expect(await w.use(cookie)).toEqual({ userId: null, reason: 'user-locked' });
      expect(await unlockUser(w.account, w.aliceId, w.adminId)).toMatchObject({ ok: true, changed: true });
      expect(await w.use(cookie)).toEqual({ userId: null, reason: 'stale' });
      // A sign-in after the unlock works: the lock ended sessions, not the account.
      const after = await w.signInAlice();
      expect(after.ok).toBe(true);
    });

    run('an admin resets the password', async (w) => {
      const cookie = await signInDuring(w, async () => {
        expect((await resetPassword(w.account, w.aliceId, NEW, w.adminId)).ok).toBe(true);
      });
      expect(await w.use(cookie)).toEqual({ userId: null, reason: 'stale' });
    });

    run('"sign out everywhere else" from another session', async (w) => {
      const other = await aliceSession(w);
      let kept = '';
      const cookie = await signInDuring(w, async () => {
        const result = await signOutOthers(w.account, incoming({ method: 'POST' }), other);
        if (!result.ok) throw new Error(result.message);
        kept = cookiePair(result.issued.setCookie[0]);
      });
      expect(await w.use(cookie)).toEqual({ userId: null, reason: 'stale' });
      // The session that asked carries on under its new ticket.
      expect(await w.use(kept)).toEqual({ userId: w.aliceId, reason: null });
    });

    run("an admin ends all of the user's sessions", async (w) => {
      const cookie = await signInDuring(w, async () => {
        expect((await revokeAllSessions(w.account, w.aliceId, w.adminId)).ok).toBe(true);
      });
      expect(await w.use(cookie)).toEqual({ userId: null, reason: 'stale' });
    });
  });
}
