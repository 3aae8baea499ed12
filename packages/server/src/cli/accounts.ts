import { randomBytes } from 'node:crypto';
import type { AccountDeps, AccountFailure } from 'cloakroom';
import { createSecondFactor, createSessions, createThrottle, systemClock } from 'cloakroom';
import type { ServerConfig } from '../server/boot/config.js';
import type { OpenStores } from '../server/boot/stores.js';
import { CliError } from './io.js';

/** Who the audit events name as having made a change from the terminal. */
export const BY = 'cli';

/**
 * The account actions' dependencies for one command. Audit events go to stderr as the same JSON
 * lines the server writes (`"event":"user.locked"`, …, `"by":"cli"`), so a change made from the
 * terminal leaves a trace in whatever collects the process's logs; results go to stdout.
 *
 * The logger (pino) and the password hasher (argon2, a native addon) load here, for the
 * commands that change accounts or sessions, not for the ones that only read (`user list`).
 */
export async function cliAccounts(config: ServerConfig, store: OpenStores): Promise<AccountDeps> {
  const [{ pino }, { createPasswordHasher }, { audit, createLogger }] = await Promise.all([
    import('pino'),
    import('cloakroom/passwords'),
    import('../server/http/logger.js'),
  ]);
  const logger = createLogger(config.logLevel, pino.destination({ fd: 2, sync: true }));
  // The CLI never signs or reads a cookie (it lists and ends sessions by user), and only
  // `secret reseal` opens a TOTP key (it refuses to run without configured secrets), so without
  // configured secrets a throwaway one serves.
  const secrets = config.secrets.length > 0 ? config.secrets : [randomBytes(32).toString('base64url')];
  const sessions = createSessions({ secrets, store: store.sessions, clock: systemClock });
  return {
    users: store.users,
    sessions,
    passwords: createPasswordHasher(),
    throttle: createThrottle({
      counters: store.counters,
      account: { failures: config.throttleAccount.failures, window: config.throttleAccount.windowMs / 1000 },
      ip: { failures: config.throttleIp.failures, window: config.throttleIp.windowMs / 1000 },
    }),
    clock: systemClock,
    audit: (event, fields) => audit(logger, event, fields),
    secondFactor: createSecondFactor({ secrets, counters: store.counters }),
  };
}

/**
 * An account action's success, or its refusal as the CLI's one-line error, after `context`
 * (`refusing to lock alice`) when given.
 */
export function done<T extends { ok: true }>(result: T | AccountFailure, context?: string): T {
  if (result.ok) return result;
  const reason = result.message.replace(/\.$/, '');
  throw new CliError(context ? `${context}: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}` : reason);
}
