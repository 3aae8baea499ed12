import type { UserRecord } from 'cloakroom';
import { normalizeUsername, systemClock } from 'cloakroom';
import type { Logger } from 'pino';
import type { ServerConfig } from '../server/boot/config.js';
import { type OpenStores, openStores } from '../server/boot/stores.js';
import { CliError } from './io.js';

const ignore = () => {};

/**
 * A logger that writes nothing, as `pino({ level: 'silent' })` would, without loading pino
 * (and its transport machinery) for a command that only reads the store. The stores call only
 * its level methods.
 */
const silent = {
  level: 'silent',
  fatal: ignore,
  error: ignore,
  warn: ignore,
  info: ignore,
  debug: ignore,
  trace: ignore,
  silent: ignore,
  isLevelEnabled: () => false,
  child: () => silent,
} as unknown as Logger;

/**
 * Opens the stores the server would use (REDIS_URL, DATABASE_URL or the SQLite file);
 * migrations apply on open. Driver chatter stays quiet: the CLI speaks in one-line results.
 */
export async function openStore(config: ServerConfig): Promise<OpenStores> {
  const store = await openStores(config, silent, systemClock);
  await settle(store);
  return store;
}

/**
 * The server connects to Redis in the background (it must start while Redis is down), so a
 * command run right after opening would meet "not connected". A one-shot command waits for
 * the stores to answer instead — a little longer than the 2 s connect timeout; if they still
 * do not, the command's own first call reports the failure as usual.
 */
async function settle(store: OpenStores, waitMs = 3_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await store.ping();
    } catch {
      if (Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The user named on the command line, or a one-line error. */
export async function findUser(store: OpenStores, name: string | undefined): Promise<UserRecord> {
  if (!name) throw new CliError('give a username');
  const username = normalizeUsername(name);
  const user = username ? await store.users.getByUsername(username) : null;
  if (!user) throw new CliError(`no user named ${JSON.stringify(name)}`);
  return user;
}

/** Runs `run` with the stores open, and closes them whatever happens. */
export async function withStore<T>(config: ServerConfig, run: (store: OpenStores) => Promise<T>): Promise<T> {
  const store = await openStore(config);
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}
