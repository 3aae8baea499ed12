import type { UserRecord } from '../auth/types.js';
import { normalizeUsername } from '../auth/usernames.js';
import type { ServerConfig } from '../server/config.js';
import { databasePath } from '../server/deps.js';
import { createSqliteStore, type SqliteStore } from '../stores/sqlite/index.js';
import { CliError } from './io.js';

/** Opens the store the server would use (migrations apply on open); no sweep timer. */
export function openStore(config: ServerConfig): SqliteStore {
  if (config.redisUrl || config.databaseUrl) {
    throw new CliError('REDIS_URL / DATABASE_URL stores are not part of this release yet; unset them');
  }
  return createSqliteStore({ path: databasePath(config), sweepIntervalMs: 0, busyTimeoutMs: 5_000 });
}

/** The user named on the command line, or a one-line error. */
export async function findUser(store: SqliteStore, name: string | undefined): Promise<UserRecord> {
  if (!name) throw new CliError('give a username');
  const username = normalizeUsername(name);
  const user = username ? await store.users.getByUsername(username) : null;
  if (!user) throw new CliError(`no user named ${JSON.stringify(name)}`);
  return user;
}
