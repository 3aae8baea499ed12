import { pino } from 'pino';
import type { UserRecord } from '../auth/types.js';
import { normalizeUsername } from '../auth/usernames.js';
import { systemClock } from '../core/clock.js';
import type { ServerConfig } from '../server/config.js';
import { type OpenStores, openStores } from '../server/stores.js';
import { CliError } from './io.js';

/**
 * Opens the stores the server would use (REDIS_URL, DATABASE_URL or the SQLite file);
 * migrations apply on open. Driver chatter stays quiet: the CLI speaks in one-line results.
 */
export function openStore(config: ServerConfig): Promise<OpenStores> {
  return openStores(config, pino({ level: 'silent' }), systemClock);
}

/** The user named on the command line, or a one-line error. */
export async function findUser(store: OpenStores, name: string | undefined): Promise<UserRecord> {
  if (!name) throw new CliError('give a username');
  const username = normalizeUsername(name);
  const user = username ? await store.users.getByUsername(username) : null;
  if (!user) throw new CliError(`no user named ${JSON.stringify(name)}`);
  return user;
}
