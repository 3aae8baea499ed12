import { listSessions, revokeAllSessions, revokeSession } from 'cloakroom';
import type { ServerConfig } from '../server/boot/config.js';
import { BY, cliAccounts, done } from './accounts.js';
import { CliError, printTable } from './io.js';
import { findUser, withStore } from './store.js';

/** The command-line flags, parsed once in main. */
export interface Flags {
  roles: string[];
  add: string | undefined;
  remove: string | undefined;
  user: string | undefined;
  displayName: string | undefined;
  passwordStdin: boolean;
  /** `user reset-link --clear-2fa`: using the link also removes the second factor. */
  clear2fa: boolean;
  json: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** `cloakroom sessions list|revoke`, through the same account actions as the server. */
export async function sessionsCommand(config: ServerConfig, args: string[], flags: Flags): Promise<void> {
  const [action, target] = args;
  await withStore(config, async (store) => {
    const account = await cliAccounts(config, store);
    if (action === 'list') {
      const chosen = target ? [await findUser(store, target)] : await store.users.list();
      const rows = [];
      for (const user of chosen) {
        for (const s of await listSessions(account, user.id)) {
          rows.push({
            id: s.id,
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
        const { revoked } = done(await revokeAllSessions(account, user.id, BY));
        process.stdout.write(`revoked ${revoked} session(s) of ${user.username}\n`);
        return;
      }
      if (!target) throw new CliError('usage: cloakroom sessions revoke ID | --user NAME');
      // A public id names no user: ask each user's sessions (a session belongs to one user).
      for (const user of await store.users.list()) {
        if ((await revokeSession(account, user.id, target, BY)).ok) {
          process.stdout.write(`revoked session ${target} of ${user.username}\n`);
          return;
        }
      }
      throw new CliError(`no live session with id ${JSON.stringify(target)}`);
    }
    throw new CliError('usage: cloakroom sessions list [NAME] | revoke ID | revoke --user NAME');
  });
}

export async function migrateCommand(config: ServerConfig): Promise<void> {
  await withStore(config, async (store) => {
    process.stdout.write(`migrations applied; the schema is up to date (${store.description})\n`);
  });
}
