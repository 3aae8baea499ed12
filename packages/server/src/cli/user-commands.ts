import type { UserRecord } from 'cloakroom';
import {
  type AccountDeps,
  createUser,
  lockUser,
  resetPassword,
  secondFactorStatus,
  setRoles,
  unlockUser,
} from 'cloakroom';
import type { ServerConfig } from '../server/boot/config.js';
import type { OpenStores } from '../server/boot/stores.js';
import { BY, cliAccounts, done } from './accounts.js';
import type { Flags } from './commands.js';
import { CliError, printTable, readPassword } from './io.js';
import { printRecoveryLink, resetTwoFactor } from './recovery-commands.js';
import { findUser, withStore } from './store.js';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * `cloakroom user add|passwd|role|lock|unlock|list|2fa reset|reset-link`: each a thin front for
 * one account action.
 */
export async function userCommand(config: ServerConfig, args: string[], flags: Flags): Promise<void> {
  const [action, name, third] = args;
  await withStore(config, async (store) => {
    // Listing reads the store alone: no logger, no password hasher to load.
    if (action === 'list') return listUsers(store, flags);
    const account = await cliAccounts(config, store);
    switch (action) {
      case 'add':
        return addUser(account, name, flags);
      case 'passwd':
        return setPassword(account, await findUser(store, name), flags);
      case 'role':
        return changeRole(account, await findUser(store, name), flags);
      case 'lock': {
        const user = await findUser(store, name);
        const { changed, revokedSessions } = done(
          await lockUser(account, user.id, BY),
          `refusing to lock ${user.username}`,
        );
        const what = changed ? `locked ${user.username}` : `${user.username} was already locked`;
        return say(`${what}; ${revokedSessions} session(s) signed out`);
      }
      case 'unlock': {
        const user = await findUser(store, name);
        const { lockoutLifted } = done(await unlockUser(account, user.id, BY));
        return say(`unlocked ${user.username}; ${throttleNote(lockoutLifted)}`);
      }
      case '2fa': {
        if (name !== 'reset' || !third) throw new CliError('usage: cloakroom user 2fa reset NAME');
        return resetTwoFactor(account, await findUser(store, third));
      }
      case 'reset-link': {
        return printRecoveryLink(config, account, await findUser(store, name), flags);
      }
      default:
        throw new CliError('usage: cloakroom user add|passwd|role|lock|unlock|list|2fa|reset-link …');
    }
  });
}

const say = (line: string) => {
  process.stdout.write(`${line}\n`);
};

const throttleNote = (lifted: boolean) =>
  lifted ? 'its sign-in lockout is lifted' : 'its failed sign-in count is reset';

async function addUser(account: AccountDeps, name: string | undefined, flags: Flags): Promise<void> {
  if (!name) throw new CliError('usage: cloakroom user add NAME [--role R]... [--password-stdin]');
  const password = await readPassword(flags.passwordStdin);
  const { user } = done(
    await createUser(
      account,
      {
        username: name,
        password,
        roles: flags.roles,
        ...(flags.displayName ? { displayName: flags.displayName } : {}),
      },
      BY,
    ),
  );
  say(`created user ${user.username} (${user.id}) with roles [${user.roles.join(', ')}]`);
}

async function setPassword(account: AccountDeps, user: UserRecord, flags: Flags): Promise<void> {
  const password = await readPassword(flags.passwordStdin);
  const { revokedSessions, lockoutLifted } = done(await resetPassword(account, user.id, password, BY));
  say(
    `password changed for ${user.username}; ${revokedSessions} session(s) signed out; ${throttleNote(lockoutLifted)}`,
  );
}

async function changeRole(account: AccountDeps, user: UserRecord, flags: Flags): Promise<void> {
  if (!flags.add === !flags.remove)
    throw new CliError('usage: cloakroom user role NAME --add ROLE | --remove ROLE');
  let roles: string[];
  if (flags.add) {
    roles = [...user.roles, flags.add];
  } else {
    const role = flags.remove!.trim().toLowerCase();
    // An error, not a quiet success: `--remove admn` must not pass for having removed `admin`.
    if (!user.roles.includes(role)) {
      throw new CliError(
        `${user.username} does not have role ${JSON.stringify(flags.remove)}; roles unchanged [${user.roles.join(', ')}]`,
      );
    }
    roles = user.roles.filter((r) => r !== role);
  }
  const context = flags.add
    ? `refusing to add a role to ${user.username}`
    : `refusing to remove ${flags.remove} from ${user.username}`;
  const updated = done(await setRoles(account, user.id, roles, BY), context).user;
  say(`${user.username} now has roles [${updated.roles.join(', ')}]`);
}

async function listUsers(store: OpenStores, flags: Flags): Promise<void> {
  const users = await store.users.list();
  // Any factor counts as two-step sign-in, as in the admin API; passkeys are counted too.
  const factors = (u: (typeof users)[number]) => {
    const status = secondFactorStatus(u);
    return { secondFactor: status.enabled || status.passkeys > 0, passkeys: status.passkeys };
  };
  if (flags.json) {
    // Same shape as the admin API: roles as an array, never the hash.
    const rows = users.map((u) => ({
      id: u.id,
      username: u.username,
      displayName: u.displayName,
      roles: u.roles,
      locked: u.locked,
      ...factors(u),
      createdAt: iso(u.createdAt),
      updatedAt: iso(u.updatedAt),
    }));
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  printTable(
    users.map((u) => {
      const { secondFactor, passkeys } = factors(u);
      return {
        id: u.id,
        username: u.username,
        displayName: u.displayName,
        roles: u.roles.join(','),
        locked: u.locked,
        '2fa': secondFactor,
        passkeys,
        createdAt: iso(u.createdAt),
      };
    }),
    false,
  );
}
