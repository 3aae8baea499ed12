import { randomBytes } from 'node:crypto';
import { createPasswordHasher } from '../auth/passwords.js';
import { AccountError, checkRoles, createAccount } from '../auth/users.js';
import { publicIdOf } from '../core/token.js';
import type { ServerConfig } from '../server/config.js';
import type { OpenStores } from '../server/stores.js';
import { CliError, printTable, readPassword } from './io.js';
import { findUser, openStore } from './store.js';

export interface Flags {
  roles: string[];
  add: string | undefined;
  remove: string | undefined;
  user: string | undefined;
  displayName: string | undefined;
  passwordStdin: boolean;
  json: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

async function withStore<T>(config: ServerConfig, run: (store: OpenStores) => Promise<T>): Promise<T> {
  const store = await openStore(config);
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

function accountError(error: unknown): never {
  if (error instanceof AccountError) throw new CliError(error.message);
  throw error;
}

export async function userCommand(config: ServerConfig, args: string[], flags: Flags): Promise<void> {
  const [action, name] = args;
  await withStore(config, async (store) => {
    const now = Date.now();
    switch (action) {
      case 'add': {
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
        process.stdout.write(
          `created user ${user.username} (${user.id}) with roles [${user.roles.join(', ')}]\n`,
        );
        return;
      }
      case 'passwd': {
        const user = await findUser(store, name);
        const password = await readPassword(flags.passwordStdin);
        const { passwordPolicyError } = await import('../auth/passwords.js');
        const problem = passwordPolicyError(password);
        if (problem) throw new CliError(`password ${problem}`);
        await store.users.update(user.id, { passwordHash: await createPasswordHasher().hash(password) }, now);
        const revoked = await store.sessions.deleteByUser(user.id);
        process.stdout.write(`password changed for ${user.username}; ${revoked} session(s) signed out\n`);
        return;
      }
      case 'role': {
        const user = await findUser(store, name);
        if (!flags.add === !flags.remove)
          throw new CliError('usage: cloakroom user role NAME --add ROLE | --remove ROLE');
        const roles = flags.add
          ? checkRolesOrFail([...user.roles, flags.add])
          : user.roles.filter((r) => r !== flags.remove);
        await store.users.update(user.id, { roles }, now);
        process.stdout.write(`${user.username} now has roles [${roles.join(', ')}]\n`);
        return;
      }
      case 'lock':
      case 'unlock': {
        const user = await findUser(store, name);
        await store.users.update(user.id, { locked: action === 'lock' }, now);
        const revoked = action === 'lock' ? await store.sessions.deleteByUser(user.id) : 0;
        process.stdout.write(
          action === 'lock'
            ? `locked ${user.username}; ${revoked} session(s) signed out\n`
            : `unlocked ${user.username}\n`,
        );
        return;
      }
      case 'list': {
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
        return;
      }
      default:
        throw new CliError('usage: cloakroom user add|passwd|role|lock|unlock|list …');
    }
  });
}

function checkRolesOrFail(roles: string[]): string[] {
  try {
    return checkRoles(roles);
  } catch (error) {
    return accountError(error);
  }
}

export async function sessionsCommand(config: ServerConfig, args: string[], flags: Flags): Promise<void> {
  const [action, target] = args;
  await withStore(config, async (store) => {
    const now = Date.now();
    const users = await store.users.list();
    if (action === 'list') {
      const chosen = target ? [await findUser(store, target)] : users;
      const rows = [];
      for (const user of chosen) {
        for (const s of await store.sessions.listByUser(user.id, now)) {
          rows.push({
            id: publicIdOf(s.id),
            user: user.username,
            createdAt: iso(s.createdAt),
            lastSeenAt: iso(s.lastSeenAt),
            ip: s.ip,
            userAgent: s.userAgent,
          });
        }
      }
      printTable(rows, flags.json);
      return;
    }
    if (action === 'revoke') {
      if (flags.user) {
        const user = await findUser(store, flags.user);
        const revoked = await store.sessions.deleteByUser(user.id);
        process.stdout.write(`revoked ${revoked} session(s) of ${user.username}\n`);
        return;
      }
      if (!target) throw new CliError('usage: cloakroom sessions revoke ID | --user NAME');
      for (const user of users) {
        const match = (await store.sessions.listByUser(user.id, now)).find(
          (s) => publicIdOf(s.id) === target,
        );
        if (match) {
          await store.sessions.delete(match.id);
          process.stdout.write(`revoked session ${target} of ${user.username}\n`);
          return;
        }
      }
      throw new CliError(`no live session with id ${JSON.stringify(target)}`);
    }
    throw new CliError('usage: cloakroom sessions list [NAME] | revoke ID | revoke --user NAME');
  });
}

export function secretCommand(args: string[]): void {
  if (args[0] !== 'new') throw new CliError('usage: cloakroom secret new');
  process.stdout.write(`${randomBytes(32).toString('base64url')}\n`);
}

export async function migrateCommand(config: ServerConfig): Promise<void> {
  await withStore(config, async (store) => {
    process.stdout.write(`migrations applied; the schema is up to date (${store.description})\n`);
  });
}
