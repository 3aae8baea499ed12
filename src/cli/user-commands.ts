import { createPasswordHasher, passwordPolicyError } from '../auth/passwords.js';
import { createThrottle } from '../auth/throttle.js';
import type { CounterStore, UserRecord } from '../auth/types.js';
import { AccountError, checkRoles, createAccount } from '../auth/users.js';
import type { ServerConfig } from '../server/config.js';
import type { OpenStores } from '../server/stores.js';
import type { Flags } from './commands.js';
import { CliError, printTable, readPassword } from './io.js';
import { findUser, withStore } from './store.js';

const iso = (ms: number) => new Date(ms).toISOString();

function accountError(error: unknown): never {
  if (error instanceof AccountError) throw new CliError(error.message);
  throw error;
}

/** `cloakroom user add|passwd|role|lock|unlock|list`. */
export async function userCommand(config: ServerConfig, args: string[], flags: Flags): Promise<void> {
  const [action, name] = args;
  await withStore(config, async (store) => {
    const now = Date.now();
    switch (action) {
      case 'add':
        return addUser(store, name, flags, now);
      case 'passwd':
        return setPassword(store, name, flags, now);
      case 'role':
        return changeRole(store, await findUser(store, name), flags, now);
      case 'lock':
        return lockUser(store, await findUser(store, name), now);
      case 'unlock':
        return unlockUser(store, await findUser(store, name), now);
      case 'list':
        return listUsers(store, flags);
      default:
        throw new CliError('usage: cloakroom user add|passwd|role|lock|unlock|list …');
    }
  });
}

async function addUser(
  store: OpenStores,
  name: string | undefined,
  flags: Flags,
  now: number,
): Promise<void> {
  if (!name) throw new CliError('usage: cloakroom user add NAME [--role R]... [--password-stdin]');
  const password = await readPassword(flags.passwordStdin);
  const user = await createAccount(
    store.users,
    createPasswordHasher(),
    {
      username: name,
      password,
      roles: flags.roles,
      ...(flags.displayName ? { displayName: flags.displayName } : {}),
    },
    now,
  ).catch(accountError);
  process.stdout.write(`created user ${user.username} (${user.id}) with roles [${user.roles.join(', ')}]\n`);
}

async function setPassword(store: OpenStores, name: string | undefined, flags: Flags, now: number) {
  const user = await findUser(store, name);
  const password = await readPassword(flags.passwordStdin);
  const problem = passwordPolicyError(password);
  if (problem) throw new CliError(`password ${problem}`);
  await store.users.update(user.id, { passwordHash: await createPasswordHasher().hash(password) }, now);
  const revoked = await store.sessions.deleteByUser(user.id);
  // A new password is what an operator sets for a user who is locked out: the lockout goes too.
  const throttle = await clearSignInThrottle(store.counters, user.username);
  process.stdout.write(
    `password changed for ${user.username}; ${revoked} session(s) signed out; ${throttle}\n`,
  );
}

async function changeRole(store: OpenStores, user: UserRecord, flags: Flags, now: number): Promise<void> {
  if (!flags.add === !flags.remove)
    throw new CliError('usage: cloakroom user role NAME --add ROLE | --remove ROLE');
  let roles: string[];
  if (flags.add) {
    roles = checkRolesOrFail([...user.roles, flags.add]);
  } else {
    const role = flags.remove!;
    // An error, not a quiet success: `--remove admn` must not pass for having removed `admin`.
    if (!user.roles.includes(role)) {
      throw new CliError(
        `${user.username} does not have role ${JSON.stringify(role)}; roles unchanged [${user.roles.join(', ')}]`,
      );
    }
    if (role === 'admin') await refuseLosingLastAdmin(store, user, 'remove the admin role from');
    roles = user.roles.filter((r) => r !== role);
  }
  await store.users.update(user.id, { roles }, now);
  process.stdout.write(`${user.username} now has roles [${roles.join(', ')}]\n`);
}

async function lockUser(store: OpenStores, user: UserRecord, now: number): Promise<void> {
  if (user.roles.includes('admin') && !user.locked) await refuseLosingLastAdmin(store, user, 'lock');
  await store.users.update(user.id, { locked: true }, now);
  const revoked = await store.sessions.deleteByUser(user.id);
  process.stdout.write(`locked ${user.username}; ${revoked} session(s) signed out\n`);
}

async function unlockUser(store: OpenStores, user: UserRecord, now: number): Promise<void> {
  await store.users.update(user.id, { locked: false }, now);
  // Unlocking is how an operator lets a user back in, so a running sign-in lockout ends too.
  const throttle = await clearSignInThrottle(store.counters, user.username);
  process.stdout.write(`unlocked ${user.username}; ${throttle}\n`);
}

async function listUsers(store: OpenStores, flags: Flags): Promise<void> {
  const users = await store.users.list();
  if (flags.json) {
    // Same shape as the admin API: roles as an array, never the hash.
    const rows = users.map((u) => ({
      id: u.id,
      username: u.username,
      displayName: u.displayName,
      roles: u.roles,
      locked: u.locked,
      createdAt: iso(u.createdAt),
      updatedAt: iso(u.updatedAt),
    }));
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  printTable(
    users.map((u) => ({
      id: u.id,
      username: u.username,
      displayName: u.displayName,
      roles: u.roles.join(','),
      locked: u.locked,
      createdAt: iso(u.createdAt),
    })),
    false,
  );
}

function checkRolesOrFail(roles: string[]): string[] {
  try {
    return checkRoles(roles);
  } catch (error) {
    return accountError(error);
  }
}

/**
 * Refuses a change that would leave no unlocked admin besides `user`: nobody could then
 * administer users from the pages or the API. (Check, then write: two operators racing to
 * demote the last two admins could still both succeed; the CLI is not a concurrent tool.)
 */
async function refuseLosingLastAdmin(store: OpenStores, user: UserRecord, action: string): Promise<void> {
  const others = (await store.users.list()).filter(
    (u) => u.id !== user.id && !u.locked && u.roles.includes('admin'),
  );
  if (others.length === 0) {
    throw new CliError(
      `refusing to ${action} ${user.username}: no other unlocked admin would remain; add or unlock another admin first`,
    );
  }
}

/** Clears the account's sign-in throttle; returns what to tell the operator. */
async function clearSignInThrottle(counters: CounterStore, username: string): Promise<string> {
  const lockedOut = await createThrottle({ counters }).clear(username);
  return lockedOut ? 'its sign-in lockout is lifted' : 'its failed sign-in count is reset';
}
