import { describe, expect, test } from 'vitest';
import {
  type AccountDeps,
  bootstrapAdmin,
  changePassword,
  createUser,
  listSessions,
  lockUser,
  resetPassword,
  revokeAllSessions,
  revokeSession,
  setRoles,
  signOutOthers,
  unlockUser,
  updateProfile,
  updateUser,
} from '../../packages/cloakroom/src/auth/accounts/index.js';
import type { AccountEvent, AuditFields } from '../../packages/cloakroom/src/auth/audit.js';
import { signIn } from '../../packages/cloakroom/src/auth/sign-in.js';
import { createThrottle } from '../../packages/cloakroom/src/auth/throttle.js';
import { manualClock } from '../../packages/cloakroom/src/core/clock.js';
import type { Session } from '../../packages/cloakroom/src/core/session.js';
import { createSessions } from '../../packages/cloakroom/src/core/sessions.js';
import {
  createMemoryStore,
  createMemoryUserStore,
} from '../../packages/cloakroom/src/stores/memory/index.js';
import { passwords } from '../support/auth.js';
import { incoming, SECRET_A } from '../support/core.js';

/*
 * The account actions on real parts (memory stores, real argon2, a manual clock): each rule is
 * coded once here, so each is attacked once here. The HTTP, page and CLI suites check that the
 * presenters pass it through.
 */

const PASSWORD = 'amber lantern quietly 41';
const NEW = 'copper meadow softly 77';

function setup() {
  const clock = manualClock();
  const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
  const users = createMemoryUserStore();
  const sessions = createSessions({ secrets: [SECRET_A], store, clock });
  const throttle = createThrottle({ counters: store.counters, clock });
  const events: Array<{ event: AccountEvent } & AuditFields> = [];
  const deps: AccountDeps = {
    users,
    sessions,
    passwords,
    throttle,
    clock,
    audit: (event, fields) => events.push({ event, ...fields }),
  };
  const signInAs = async (username: string, password = PASSWORD): Promise<Session> => {
    const result = await signIn(
      { sessions, users, passwords, throttle, clock },
      incoming({ method: 'POST' }),
      {
        username,
        password,
      },
    );
    if (!result.ok) throw new Error(`sign-in of ${username} failed: ${result.error}`);
    return result.issued.session;
  };
  const make = async (username: string, roles: string[] = []) => {
    const result = await createUser(deps, { username, password: PASSWORD, roles }, 'test');
    if (!result.ok) throw new Error(result.message);
    return result.user;
  };
  return { clock, store, users, sessions, throttle, events, deps, signInAs, make };
}

describe('createUser', () => {
  test('creates a user with a canonical name and normalised roles, audited with who asked', async () => {
    const { deps, events } = setup();
    const result = await createUser(
      deps,
      { username: 'Alice', password: PASSWORD, roles: [' Admin ', 'ops', 'admin'] },
      'root-id',
    );
    expect(result).toMatchObject({
      ok: true,
      user: { username: 'alice', displayName: 'Alice', roles: ['admin', 'ops'], epoch: 0 },
    });
    expect(events).toEqual([
      {
        event: 'user.created',
        userId: result.ok ? result.user.id : '',
        username: 'alice',
        roles: ['admin', 'ops'],
        by: 'root-id',
      },
    ]);
  });

  test('an exact duplicate is "taken", a look-alike says so; neither is created nor audited', async () => {
    const { deps, events, make, users } = setup();
    await make('admin');
    events.length = 0;
    expect(await createUser(deps, { username: 'ADMIN', password: PASSWORD }, 'x')).toEqual({
      ok: false,
      error: 'taken',
      field: 'username',
      message: 'That username is taken.',
    });
    expect(await createUser(deps, { username: 'аdmin', password: PASSWORD }, 'x')).toEqual({
      ok: false,
      error: 'taken',
      field: 'username',
      message: 'That username looks too much like an existing one; choose a clearly different name.',
    });
    expect(await users.count()).toBe(1);
    expect(events).toEqual([]);
  });

  test('each broken rule names its field, as a sentence', async () => {
    const { deps, users } = setup();
    expect(await createUser(deps, { username: '', password: PASSWORD }, 'x')).toMatchObject({
      error: 'invalid',
      field: 'username',
      message: 'Username must be 1–64 characters of text.',
    });
    expect(await createUser(deps, { username: 'nina', password: 'nina-secret-2024' }, 'x')).toMatchObject({
      error: 'invalid',
      field: 'password',
      message: expect.stringMatching(/^Password must not contain the username/),
    });
    expect(await createUser(deps, { username: 'nina', password: 'password123' }, 'x')).toMatchObject({
      error: 'invalid',
      field: 'password',
      message: expect.stringMatching(/^Password is one of the most commonly used passwords/),
    });
    expect(
      await createUser(deps, { username: 'nina', password: PASSWORD, roles: ['no spaces'] }, 'x'),
    ).toMatchObject({ error: 'invalid', field: 'roles' });
    expect(
      await createUser(deps, { username: 'nina', password: PASSWORD, displayName: 'a\u202eb' }, 'x'),
    ).toMatchObject({ error: 'invalid', field: 'displayName' });
    expect(await users.count()).toBe(0);
  });
});

describe('bootstrapAdmin', () => {
  test('creates the first admin only while no user exists', async () => {
    const { deps, events, users } = setup();
    const first = await bootstrapAdmin(deps, { username: 'root', password: PASSWORD }, 'environment');
    expect(first).toMatchObject({ ok: true, user: { username: 'root', roles: ['admin'] } });
    expect(events).toEqual([
      expect.objectContaining({ event: 'admin.bootstrapped', username: 'root', via: 'environment' }),
    ]);
    expect(
      await bootstrapAdmin(deps, { username: 'other', password: PASSWORD }, 'environment'),
    ).toMatchObject({ ok: false, error: 'closed' });
    expect(await users.count()).toBe(1);
  });

  test('the claim is taken only after the input passed, and a refused claim creates nothing', async () => {
    const { deps, users } = setup();
    let claims = 0;
    const claim = () => {
      claims++;
      return null;
    };
    expect(
      await bootstrapAdmin(deps, { username: 'root', password: 'short' }, 'setup-link', claim),
    ).toMatchObject({ error: 'invalid', field: 'password' });
    expect(claims).toBe(0);
    expect(
      await bootstrapAdmin(deps, { username: 'root', password: PASSWORD }, 'setup-link', claim),
    ).toMatchObject({ error: 'closed' });
    expect(claims).toBe(1);
    expect(await users.count()).toBe(0);
  });

  test('the claim is given back when the store fails, and kept when it succeeds', async () => {
    const { deps } = setup();
    let released = 0;
    const claim = () => () => {
      released++;
    };
    const broken: AccountDeps = {
      ...deps,
      users: { ...deps.users, count: () => Promise.reject(new Error('store down')) },
    };
    await expect(
      bootstrapAdmin(broken, { username: 'root', password: PASSWORD }, 'setup-link', claim),
    ).rejects.toThrow('store down');
    expect(released).toBe(1);
    expect(
      await bootstrapAdmin(deps, { username: 'root', password: PASSWORD }, 'setup-link', claim),
    ).toMatchObject({ ok: true });
    expect(released).toBe(1);
  });
});

describe('setRoles and the one-unlocked-admin rule', () => {
  test('normalises names, audits a real change with from/to/by, and nothing for the same set', async () => {
    const { deps, events, make } = setup();
    const bob = await make('bob', ['ops']);
    events.length = 0;
    expect(await setRoles(deps, bob.id, ['OPS'], 'root-id')).toMatchObject({ ok: true, changed: false });
    expect(events).toEqual([]);
    expect(await setRoles(deps, bob.id, ['Editor', 'ops'], 'root-id')).toMatchObject({
      ok: true,
      changed: true,
      user: { roles: ['editor', 'ops'] },
    });
    expect(events).toEqual([
      { event: 'role.changed', userId: bob.id, from: ['ops'], to: ['editor', 'ops'], by: 'root-id' },
    ]);
  });

  test('the last unlocked admin cannot be demoted or locked; with a second one, either may be', async () => {
    const { deps, make, users } = setup();
    const root = await make('root', ['admin']);
    expect(await setRoles(deps, root.id, [], root.id)).toMatchObject({ ok: false, error: 'last_admin' });
    expect(await lockUser(deps, root.id, root.id)).toMatchObject({ ok: false, error: 'last_admin' });
    expect(await users.getById(root.id)).toMatchObject({ roles: ['admin'], locked: false });
    const second = await make('second', ['admin']);
    expect(await setRoles(deps, root.id, ['ops'], root.id)).toMatchObject({ ok: true, changed: true });
    expect(await lockUser(deps, second.id, second.id)).toMatchObject({ ok: false, error: 'last_admin' });
    // A locked admin does not count as the one remaining.
    expect(await setRoles(deps, root.id, ['admin'], second.id)).toMatchObject({ ok: true });
    expect(await lockUser(deps, root.id, second.id)).toMatchObject({ ok: true, changed: true });
    expect(await setRoles(deps, second.id, [], second.id)).toMatchObject({ ok: false, error: 'last_admin' });
    // Demoting a locked admin takes nobody's administration away.
    expect(await setRoles(deps, root.id, [], second.id)).toMatchObject({ ok: true, changed: true });
  });

  test('refusals: bad names (400), an unknown user (404)', async () => {
    const { deps } = setup();
    expect(await setRoles(deps, 'nobody', ['ops'], 'x')).toEqual({
      ok: false,
      error: 'not_found',
      message: 'No such user.',
    });
    expect(await setRoles(deps, 'nobody', 'ops', 'x')).toMatchObject({
      ok: false,
      error: 'invalid',
      field: 'roles',
      message: expect.stringMatching(/^Roles must be a list/),
    });
  });
});

describe('lockUser and unlockUser', () => {
  test('a lock ends every session and advances the epoch; a second lock changes and audits nothing', async () => {
    const { deps, events, make, signInAs, users, sessions } = setup();
    const bob = await make('bob');
    await signInAs('bob');
    await signInAs('bob');
    events.length = 0;
    expect(await lockUser(deps, bob.id, 'root-id')).toMatchObject({
      ok: true,
      changed: true,
      revokedSessions: 2,
      user: { locked: true, epoch: 1 },
    });
    expect(await sessions.list(bob.id)).toEqual([]);
    expect(await lockUser(deps, bob.id, 'root-id')).toMatchObject({
      ok: true,
      changed: false,
      revokedSessions: 0,
    });
    expect((await users.getById(bob.id))?.epoch).toBe(1);
    expect(events).toEqual([{ event: 'user.locked', userId: bob.id, revokedSessions: 2, by: 'root-id' }]);
  });

  test('an unlock lifts a running sign-in lockout; unlocking an unlocked user audits nothing', async () => {
    const { deps, events, make, throttle } = setup();
    const bob = await make('bob');
    for (let i = 0; i < 5; i++) await throttle.fail('bob', '203.0.113.1');
    expect((await throttle.check('bob', '198.51.100.1')).throttled).toBe(true);
    events.length = 0;
    expect(await unlockUser(deps, bob.id, 'cli')).toMatchObject({
      ok: true,
      changed: false,
      lockoutLifted: true,
    });
    expect(events).toEqual([]);
    expect((await throttle.check('bob', '198.51.100.1')).throttled).toBe(false);
    await lockUser(deps, bob.id, 'cli');
    events.length = 0;
    expect(await unlockUser(deps, bob.id, 'cli')).toMatchObject({
      ok: true,
      changed: true,
      lockoutLifted: false,
      user: { locked: false },
    });
    expect(events).toEqual([{ event: 'user.unlocked', userId: bob.id, by: 'cli' }]);
    expect(await lockUser(deps, 'nobody', 'cli')).toMatchObject({ error: 'not_found' });
    expect(await unlockUser(deps, 'nobody', 'cli')).toMatchObject({ error: 'not_found' });
  });
});

describe('updateProfile and updateUser', () => {
  test('a display name is trimmed, audited only when it changed', async () => {
    const { deps, events, make } = setup();
    const bob = await make('bob');
    events.length = 0;
    expect(await updateProfile(deps, bob.id, { displayName: '  Bob B  ' })).toMatchObject({
      ok: true,
      changed: true,
      user: { displayName: 'Bob B' },
    });
    expect(await updateProfile(deps, bob.id, { displayName: 'Bob B' })).toMatchObject({
      ok: true,
      changed: false,
    });
    expect(events).toEqual([{ event: 'profile.updated', userId: bob.id }]);
    expect(await updateProfile(deps, bob.id, { displayName: '' })).toMatchObject({
      ok: false,
      error: 'invalid',
      field: 'displayName',
    });
    expect(await updateProfile(deps, 'nobody', { displayName: 'x' })).toMatchObject({ error: 'not_found' });
  });

  test('every field is checked before anything is written', async () => {
    const { deps, make, users } = setup();
    const bob = await make('bob', ['ops']);
    expect(await updateUser(deps, bob.id, { roles: ['editor'], displayName: '\u200b' }, 'x')).toMatchObject({
      ok: false,
      field: 'displayName',
    });
    expect(await updateUser(deps, bob.id, { roles: ['bad role'], locked: true }, 'x')).toMatchObject({
      ok: false,
      field: 'roles',
    });
    expect(await users.getById(bob.id)).toMatchObject({ roles: ['ops'], locked: false });
    expect(await updateUser(deps, bob.id, {}, 'x')).toMatchObject({ ok: false, error: 'invalid' });
  });

  test('roles, lock and name apply in that order; the first refusal stops the rest', async () => {
    const { deps, make, users } = setup();
    const root = await make('root', ['admin']);
    const bob = await make('bob');
    expect(
      await updateUser(deps, bob.id, { roles: ['ops'], locked: true, displayName: 'Bobby' }, root.id),
    ).toMatchObject({
      ok: true,
      changed: true,
      user: { roles: ['ops'], locked: true, displayName: 'Bobby' },
    });
    // The last admin: the roles change is refused, so the name is not written either.
    expect(await updateUser(deps, root.id, { roles: [], displayName: 'Nobody' }, root.id)).toMatchObject({
      ok: false,
      error: 'last_admin',
    });
    expect(await users.getById(root.id)).toMatchObject({ roles: ['admin'], displayName: 'root' });
    expect(await updateUser(deps, bob.id, { locked: false }, root.id)).toMatchObject({
      ok: true,
      changed: true,
      user: { locked: false },
    });
    expect(await updateUser(deps, bob.id, { displayName: 'Bobby' }, root.id)).toMatchObject({
      ok: true,
      changed: false,
    });
  });
});

describe('changePassword', () => {
  test('checks the current password, changes hash and epoch, ends the others, clears the failure count, rotates this one', async () => {
    const { deps, events, make, signInAs, sessions, throttle, users } = setup();
    const bob = await make('bob');
    const other = await signInAs('bob');
    const mine = await signInAs('bob');
    await throttle.fail('bob', '203.0.113.1');
    events.length = 0;
    const result = await changePassword(deps, incoming({ method: 'POST' }), mine, {
      currentPassword: PASSWORD,
      newPassword: NEW,
    });
    if (!result.ok) throw new Error(result.message);
    expect(result).toMatchObject({ revokedSessions: 1, user: { epoch: 1 } });
    expect(result.issued.session.epoch).toBe(1);
    expect(result.issued.session.id).not.toBe(mine.id);
    expect((await sessions.list(bob.id)).map((s) => s.id)).toEqual([result.issued.session.id]);
    expect((await passwords.verify((await users.getById(bob.id))!.passwordHash, NEW)).ok).toBe(true);
    expect(events).toEqual([{ event: 'password.changed', userId: bob.id, revokedSessions: 1 }]);
    // The failure from before is cleared: five new ones are needed for a lockout.
    for (let i = 0; i < 4; i++) expect(await throttle.fail('bob', '203.0.113.1')).toEqual([]);
    expect(await throttle.fail('bob', '203.0.113.1')).toEqual(['account']);
    void other;
  });

  test('a wrong current password counts as a failed sign-in, is audited, and changes nothing', async () => {
    const { deps, events, make, signInAs, users } = setup();
    const bob = await make('bob');
    const mine = await signInAs('bob');
    events.length = 0;
    const req = incoming({ method: 'POST', ip: '203.0.113.7' });
    for (let i = 0; i < 4; i++) {
      expect(
        await changePassword(deps, req, mine, { currentPassword: 'wrong one here', newPassword: NEW }),
      ).toEqual({ ok: false, error: 'wrong_password', message: 'The current password is wrong.' });
    }
    expect(events.filter((e) => e.event === 'login.failure')).toHaveLength(4);
    expect(events[0]).toEqual({
      event: 'login.failure',
      userId: bob.id,
      route: 'password',
      ip: '203.0.113.7',
    });
    const fifth = await changePassword(deps, req, mine, {
      currentPassword: 'wrong one here',
      newPassword: NEW,
    });
    expect(fifth).toMatchObject({ error: 'wrong_password' });
    expect(events.filter((e) => e.event === 'lockout')).toEqual([
      { event: 'lockout', username: 'bob', scope: 'account', ip: '203.0.113.7' },
    ]);
    expect(
      await changePassword(deps, req, mine, { currentPassword: PASSWORD, newPassword: NEW }),
    ).toMatchObject({ ok: false, error: 'throttled', retryAfterSeconds: 900 });
    expect((await users.getById(bob.id))?.epoch).toBe(0);
  });

  test('the new password meets the rules (with the username), checked before the current one', async () => {
    const { deps, make, signInAs } = setup();
    await make('bob');
    const mine = await signInAs('bob');
    expect(
      await changePassword(deps, incoming(), mine, {
        currentPassword: 'not even right',
        newPassword: 'bob-and-more',
      }),
    ).toMatchObject({
      error: 'invalid',
      field: 'newPassword',
      message: expect.stringMatching(/^The new password must not contain the username/),
    });
    expect(await changePassword(deps, incoming(), mine, { currentPassword: PASSWORD })).toMatchObject({
      error: 'invalid',
    });
  });

  test('a change that lost the race to another one writes nothing and says so', async () => {
    const { deps, make, signInAs, users } = setup();
    const bob = await make('bob');
    const mine = await signInAs('bob');
    const racing: AccountDeps = {
      ...deps,
      users: {
        ...deps.users,
        update: async (id, patch, now, condition) => {
          // Another change lands between this one's check and its write.
          await users.update(id, { passwordHash: await passwords.hash('someone else 42') }, now);
          return users.update(id, patch, now, condition);
        },
      },
    };
    expect(
      await changePassword(racing, incoming(), mine, { currentPassword: PASSWORD, newPassword: NEW }),
    ).toMatchObject({ ok: false, error: 'conflict' });
    expect((await users.getById(bob.id))?.epoch).toBe(0);
  });
});

describe('resetPassword', () => {
  test('ends every session, advances the epoch, lifts a lockout, audits with who asked', async () => {
    const { deps, events, make, signInAs, sessions, throttle } = setup();
    const bob = await make('bob');
    await signInAs('bob');
    for (let i = 0; i < 5; i++) await throttle.fail('bob', '203.0.113.1');
    events.length = 0;
    expect(await resetPassword(deps, bob.id, NEW, 'cli')).toMatchObject({
      ok: true,
      revokedSessions: 1,
      lockoutLifted: true,
      user: { epoch: 1 },
    });
    expect(await sessions.list(bob.id)).toEqual([]);
    expect(events).toEqual([{ event: 'password.reset', userId: bob.id, revokedSessions: 1, by: 'cli' }]);
    expect(await resetPassword(deps, bob.id, 'bob12345678', 'cli')).toMatchObject({
      error: 'invalid',
      field: 'password',
    });
    expect(await resetPassword(deps, 'nobody', NEW, 'cli')).toMatchObject({ error: 'not_found' });
  });
});

describe('sessions', () => {
  test("revokeSession ends one session of that user only; another user's session is not found", async () => {
    const { deps, events, make, signInAs, sessions } = setup();
    const bob = await make('bob');
    const alice = await make('alice');
    const bobs = await signInAs('bob');
    const alices = await signInAs('alice');
    events.length = 0;
    expect(await revokeSession(deps, bob.id, alices.id, 'x')).toEqual({
      ok: false,
      error: 'not_found',
      message: 'No such session.',
    });
    expect(await sessions.list(alice.id)).toHaveLength(1);
    expect(await revokeSession(deps, bob.id, bobs.id, bobs.id)).toEqual({ ok: true });
    expect(events).toEqual([{ event: 'session.revoked', userId: bob.id, session: bobs.id, by: bobs.id }]);
  });

  test('signOutOthers keeps this session under a new ticket with its CSRF secret; revokeAllSessions ends all', async () => {
    const { deps, events, make, signInAs, sessions } = setup();
    const bob = await make('bob');
    await signInAs('bob');
    const mine = await signInAs('bob');
    events.length = 0;
    const result = await signOutOthers(deps, incoming({ method: 'POST' }), mine);
    if (!result.ok) throw new Error(result.message);
    expect(result.revoked).toBe(1);
    expect(result.issued.session.epoch).toBe(1);
    expect(
      sessions.checkCsrf(incoming({ method: 'POST' }), result.issued.session, sessions.csrfToken(mine)),
    ).toBeNull();
    expect(events).toEqual([
      { event: 'sessions.revoked', userId: bob.id, count: 1, kept: result.issued.session.id },
    ]);
    events.length = 0;
    expect(await revokeAllSessions(deps, bob.id, 'root-id')).toEqual({ ok: true, revoked: 1 });
    expect(events).toEqual([{ event: 'sessions.revoked', userId: bob.id, count: 1, by: 'root-id' }]);
    expect(await revokeAllSessions(deps, 'nobody', 'x')).toMatchObject({ error: 'not_found' });
    expect(await signOutOthers(deps, incoming(), { ...mine, userId: 'nobody' } as Session)).toMatchObject({
      error: 'not_found',
    });
  });

  test("listSessions leaves out a session whose epoch is behind its user's, and an unknown user has none", async () => {
    const { deps, make, signInAs, users, clock } = setup();
    const bob = await make('bob');
    const stale = await signInAs('bob');
    await users.update(bob.id, { advanceEpoch: true }, clock.now());
    const fresh = await signInAs('bob');
    expect((await listSessions(deps, bob.id)).map((s) => s.id)).toEqual([fresh.id]);
    expect((await listSessions(deps, bob.id, fresh))[0]?.current).toBe(true);
    expect(stale.id).not.toBe(fresh.id);
    expect(await listSessions(deps, 'nobody')).toEqual([]);
  });
});
